/*
 * schema_impl.h - internal: lookup structures the reader uses to check and
 * derive column values quickly. Built once at schema load.
 */
#ifndef PROFIL_SCHEMA_IMPL_H
#define PROFIL_SCHEMA_IMPL_H

#include <regex.h>

#include "profil/schema.h"
#include "strmap.h"

/* derive_map value for a source level without a derived value and no default. */
#define PF_DERIVE_NONE (-2)

struct pf_column_impl {
    pf_strmap levels; /* code or alias → level index */
    regex_t re;
    int has_re;
    /* Derived columns. A category source maps level → level through
     * derive_map; a string source looks up its first `prefix` bytes (all
     * when 0) in derive_keys. derive_default is used when that finds
     * nothing; PF_DERIVE_NONE rejects the row instead. */
    int32_t *derive_map;
    pf_strmap derive_keys;
    size_t prefix;
    int32_t derive_default;
    char *reference_file; /* for messages: "kommuner.csv" */
};

#endif
