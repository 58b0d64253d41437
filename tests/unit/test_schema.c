/*
 * test_schema.c - loading schema files: the bundled af-inskrivning schema,
 * a second, unrelated schema (tests/unit/fixtures/kurs.json) that must load
 * without code changes, and every way a schema file can be wrong.
 *
 * Counts and positions (290 municipalities, level "9" eighth among the SUN
 * levels, ...) are read off the reference tables in data/ref/ by hand.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "profil/schema.h"
#include "readertest.h"

#define AF_SCHEMA   PF_TEST_DATADIR "/schema/af-inskrivning.json"
#define KURS_SCHEMA PF_TEST_SRCDIR "/unit/fixtures/kurs.json"

static const pf_column *col(const pf_schema *s, const char *name)
{
    int c = pf_schema_find(s, name);
    if (c < 0)
        fail_msg("no column '%s'", name);
    return &s->cols[c];
}

static void test_af_schema(void **state)
{
    pf_schema *s;
    pf_error err;
    pf_error_clear(&err);
    int rc = pf_schema_load(&s, AF_SCHEMA, &err);
    if (rc)
        fail_msg("%s", err.message);
    assert_string_equal(s->name, "af-inskrivning");
    assert_string_equal(s->version, "1.0.0");
    assert_string_equal(s->path, AF_SCHEMA);
    /* 33 input columns and 6 derived ones. */
    assert_int_equal(s->ncols, 39);
    size_t derived = 0, required = 0;
    for (size_t i = 0; i < s->ncols; i++) {
        derived += (size_t) s->cols[i].derived;
        required += (size_t) s->cols[i].required;
        assert_true(s->cols[i].derived == (s->cols[i].source >= 0));
    }
    assert_int_equal(derived, 6);
    /* Every input but sokt_yrke_2..4 and the two labels. */
    assert_int_equal(required, 28);
    assert_int_equal(s->id_col, 0);
    assert_int_equal(s->nmissing_tokens, 2);
    assert_string_equal(s->missing_tokens[0], "");
    assert_string_equal(s->missing_tokens[1], "NA");

    const pf_column *c = col(s, "id");
    assert_int_equal(c->role, PF_ROLE_ID);
    assert_int_equal(c->type, PF_TYPE_STRING);
    assert_int_equal(c->max_length, 64);

    c = col(s, "alder");
    assert_int_equal(c->type, PF_TYPE_INTEGER);
    assert_num(c->min, 16.0);
    assert_num(c->max, 67.0);
    assert_string_equal(c->label, "\xC3\x85lder");

    c = col(s, "kommunkod");
    assert_int_equal(c->nlevels, 290);
    assert_string_equal(c->reference, "kommuner");
    assert_string_equal(c->levels[0].code, "0114");
    assert_string_equal(c->levels[0].label, "Upplands V\xC3\xA4sby");
    c = col(s, "lanskod");
    assert_int_equal(c->nlevels, 21); /* Sweden's counties */
    assert_true(c->derived);
    assert_false(c->required);
    assert_int_equal(c->source, pf_schema_find(s, "kommunkod"));
    assert_string_equal(c->levels[0].code, "01");
    assert_string_equal(c->levels[0].label, "Stockholms l\xC3\xA4n");
    assert_int_equal(col(s, "fodelseland")->nlevels, 249);
    assert_int_equal(col(s, "fodelseregion")->nlevels, 5);
    assert_int_equal(col(s, "fodelseregion")->source, 3);
    assert_int_equal(col(s, "sokt_yrke_1_omrade")->source, pf_schema_find(s, "sokt_yrke_1"));

    /* SUN levels 1..7 then 9: "9" is the eighth. */
    c = col(s, "utbildningsniva");
    assert_int_equal(c->nlevels, 8);
    assert_int_equal(c->missing, PF_MISSING_DEFAULT);
    assert_string_equal(c->default_value, "9");
    assert_int_equal(c->default_level, 7);
    assert_int_equal(col(s, "utbildningsinriktning")->default_level, 9);

    c = col(s, "akassa");
    assert_int_equal(c->type, PF_TYPE_BOOLEAN);
    assert_int_equal(c->nlevels, 2);
    assert_string_equal(c->levels[0].code, "0");
    assert_string_equal(c->levels[1].code, "1");

    c = col(s, "sokt_yrke_1");
    assert_string_equal(c->pattern, "^[0-9]{4}$");
    assert_int_equal(c->missing, PF_MISSING_ALLOW);
    assert_true(c->required);
    assert_false(col(s, "sokt_yrke_2")->required);
    assert_false(col(s, "arbete_studier_90d")->required);
    assert_int_equal(col(s, "arbete_studier_90d")->role, PF_ROLE_LABEL);

    int kon = pf_schema_find(s, "kon");
    assert_int_equal(pf_schema_level(s, kon, "K", 1), 0);
    assert_int_equal(pf_schema_level(s, kon, "M", 1), 1);
    assert_int_equal(pf_schema_level(s, kon, "k", 1), -1);
    assert_int_equal(pf_schema_level(s, kon, "KM", 1), 0); /* only len bytes */
    assert_int_equal(pf_schema_level(s, -1, "K", 1), -1);
    assert_int_equal(pf_schema_level(s, 39, "K", 1), -1);
    assert_int_equal(pf_schema_find(s, "no_such_column"), -1);

    assert_string_equal(pf_role_name(PF_ROLE_PASSTHROUGH), "passthrough");
    assert_string_equal(pf_type_name(PF_TYPE_BOOLEAN), "boolean");
    pf_schema_free(s);
    pf_schema_free(NULL);
    (void) state;
}

static void test_other_schema(void **state)
{
    pf_schema *s;
    pf_error err;
    int rc = pf_schema_load(&s, KURS_SCHEMA, &err);
    if (rc)
        fail_msg("%s", err.message);
    assert_string_equal(s->name, "test-kurs");
    assert_int_equal(s->ncols, 8);
    assert_int_equal(s->id_col, -1);
    assert_int_equal(s->nmissing_tokens, 3);
    assert_string_equal(s->missing_tokens[2], "saknas");

    const pf_column *c = col(s, "timmar");
    assert_num(c->min, 0.0);
    assert_true(isinf(c->max) && c->max > 0);
    c = col(s, "ort");
    assert_int_equal(c->nlevels, 4);
    assert_string_equal(c->levels[3].code, "M1");
    assert_string_equal(c->levels[3].label, "Malm\xC3\xB6, centrum");
    c = col(s, "landsdel");
    assert_int_equal(c->role, PF_ROLE_GROUP);
    assert_true(c->derived);
    assert_int_equal(c->source, 1);
    c = col(s, "kurskod");
    assert_int_equal(c->role, PF_ROLE_PASSTHROUGH);
    assert_int_equal(c->max_length, 5);
    c = col(s, "vikt");
    assert_int_equal(c->role, PF_ROLE_WEIGHT);
    assert_num(c->default_num, 1.25);
    assert_false(col(s, "klar")->required); /* a label */
    assert_false(col(s, "kursdag")->required);
    assert_true(col(s, "niva")->required);
    assert_int_equal(col(s, "niva")->default_level, 0);
    assert_string_equal(col(s, "niva")->levels[1].label, "fortsattning"); /* label = code */

    int niva = pf_schema_find(s, "niva"), klar = pf_schema_find(s, "klar");
    assert_int_equal(pf_schema_level(s, niva, "G", 1), 0);
    assert_int_equal(pf_schema_level(s, niva, "grundl\xC3\xA4ggande", 14), 0);
    assert_int_equal(pf_schema_level(s, niva, "F", 1), 1);
    assert_int_equal(pf_schema_level(s, niva, "fortsattning", 12), 1);
    assert_int_equal(pf_schema_level(s, klar, "ja", 2), 1);
    assert_int_equal(pf_schema_level(s, klar, "J", 1), 1);
    assert_int_equal(pf_schema_level(s, klar, "1", 1), 1);
    assert_int_equal(pf_schema_level(s, klar, "nej", 3), 0);
    assert_int_equal(pf_schema_level(s, klar, "0", 1), 0);
    assert_int_equal(pf_schema_level(s, klar, "yes", 3), -1);
    pf_schema_free(s);
    (void) state;
}

/* ---- invalid schemas ----------------------------------------------------- */

typedef struct bad_case {
    const char *why;
    const char *json; /* with ' for " */
    int status;
    const char *msg1, *msg2; /* expected in the message (msg2 may be NULL) */
} bad_case;

#define TOP     "'format':'profil-schema/1','name':'t','version':'1',"
#define REFS    "'references':{'t':{'file':'t.csv','key':'code'}},"
#define COL_A   "{'name':'a','role':'feature','type':'integer','label':'A'}"
#define S1(col) "{" TOP REFS "'columns':[" COL_A "," col "]}"

static const bad_case bad_cases[] = {
    {"unknown top-level key", "{" TOP REFS "'colums':[" COL_A "]}", PF_ESCHEMA,
     "top level: unknown key 'colums'", NULL},
    {"unknown column key",
     S1("{'name':'b','role':'feature','type':'integer','label':'B','minimum':1}"), PF_ESCHEMA,
     "column 'b': unknown key 'minimum'", NULL},
    {"bad role", S1("{'name':'b','role':'predictor','type':'integer','label':'B'}"), PF_ESCHEMA,
     "column 'b': role 'predictor' is not one of", NULL},
    {"role not a string", S1("{'name':'b','role':3,'type':'integer','label':'B'}"), PF_ESCHEMA,
     "column 'b': 'role' must be a string", NULL},
    {"bad type", S1("{'name':'b','role':'feature','type':'float','label':'B'}"), PF_ESCHEMA,
     "column 'b': type 'float' is not one of", NULL},
    {"bad missing rule",
     S1("{'name':'b','role':'feature','type':'integer','label':'B','missing':'skip'}"), PF_ESCHEMA,
     "column 'b': missing 'skip' is not one of", NULL},
    {"label missing", S1("{'name':'b','role':'feature','type':'integer'}"), PF_ESCHEMA,
     "column 'b': missing key 'label'", NULL},
    {"name missing", S1("{'role':'feature','type':'integer','label':'B'}"), PF_ESCHEMA,
     "column 2: missing key 'name'", NULL},
    {"required not boolean",
     S1("{'name':'b','role':'feature','type':'integer','label':'B','required':'yes'}"), PF_ESCHEMA,
     "column 'b': 'required' must be true or false", NULL},
    {"min greater than max",
     S1("{'name':'b','role':'feature','type':'number','label':'B','min':5,'max':1}"), PF_ESCHEMA,
     "column 'b': min 5 is greater than max 1", NULL},
    {"min on a category",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels':[{'code':'x'}],"
        "'min':1}"),
     PF_ESCHEMA, "column 'b': 'min'/'max' apply to integer and number columns only", NULL},
    {"max_length negative",
     S1("{'name':'b','role':'feature','type':'string','label':'B','max_length':-1}"), PF_ESCHEMA,
     "column 'b': 'max_length' must be a non-negative integer", NULL},
    {"pattern on an integer",
     S1("{'name':'b','role':'feature','type':'integer','label':'B','pattern':'^1$'}"), PF_ESCHEMA,
     "column 'b': 'max_length'/'pattern' apply to string columns only", NULL},
    {"bad regular expression",
     S1("{'name':'b','role':'feature','type':'string','label':'B','pattern':'([a-z'}"), PF_ESCHEMA,
     "column 'b': pattern '([a-z' is not a valid POSIX extended regular expression", NULL},
    {"default out of range",
     S1("{'name':'b','role':'feature','type':'integer','label':'B','min':0,'max':10,"
        "'missing':'default','default':'11'}"),
     PF_ESCHEMA, "column 'b': default '11' is not a valid value", NULL},
    {"default not an integer",
     S1("{'name':'b','role':'feature','type':'integer','label':'B','missing':'default',"
        "'default':'2.5'}"),
     PF_ESCHEMA, "column 'b': default '2.5' is not a valid value", NULL},
    {"default not a number",
     S1("{'name':'b','role':'feature','type':'number','label':'B','missing':'default',"
        "'default':'1,5'}"),
     PF_ESCHEMA, "column 'b': default '1,5' is not a valid value", NULL},
    {"default not a level",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels':[{'code':'x'},"
        "{'code':'y'}],'missing':'default','default':'z'}"),
     PF_ESCHEMA, "column 'b': default 'z' is not an allowed value", NULL},
    {"default too long",
     S1("{'name':'b','role':'feature','type':'string','label':'B','max_length':2,"
        "'missing':'default','default':'abc'}"),
     PF_ESCHEMA, "column 'b': default 'abc' is too long", NULL},
    {"default without missing default",
     S1("{'name':'b','role':'feature','type':'integer','label':'B','default':'3'}"), PF_ESCHEMA,
     "column 'b': 'default' is given but missing is not 'default'", NULL},
    {"missing default without a default",
     S1("{'name':'b','role':'feature','type':'integer','label':'B','missing':'default'}"),
     PF_ESCHEMA, "column 'b': missing 'default' requires a 'default' value", NULL},
    {"levels and levels_from both",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels':[{'code':'x'}],"
        "'levels_from':{'reference':'t'}}"),
     PF_ESCHEMA, "column 'b': a category column needs exactly one of 'levels' and 'levels_from'",
     NULL},
    {"levels and levels_from neither",
     S1("{'name':'b','role':'feature','type':'category','label':'B'}"), PF_ESCHEMA,
     "column 'b': a category column needs exactly one of 'levels' and 'levels_from'", NULL},
    {"empty levels", S1("{'name':'b','role':'feature','type':'category','label':'B','levels':[]}"),
     PF_ESCHEMA, "column 'b': 'levels' must be a non-empty array", NULL},
    {"levels on an integer",
     S1("{'name':'b','role':'feature','type':'integer','label':'B','levels':[{'code':'1'}]}"),
     PF_ESCHEMA, "column 'b': levels apply to category columns only", NULL},
    {"levels on a boolean",
     S1("{'name':'b','role':'feature','type':'boolean','label':'B','levels':[{'code':'1'}]}"),
     PF_ESCHEMA, "column 'b': a boolean column has fixed levels 0 and 1", NULL},
    {"true_values on a category",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels':[{'code':'x'}],"
        "'true_values':['x']}"),
     PF_ESCHEMA, "column 'b': 'true_values'/'false_values' apply to boolean columns only", NULL},
    {"duplicate level",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels':[{'code':'x'},"
        "{'code':'y'},{'code':'x'}]}"),
     PF_ESCHEMA, "column 'b': level 'x' appears twice", NULL},
    {"alias repeats a code",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels':[{'code':'x'},"
        "{'code':'y','aliases':['x']}]}"),
     PF_ESCHEMA, "column 'b': value 'x' is given twice", NULL},
    {"duplicate column name", S1(COL_A), PF_ESCHEMA, "column 'a': name used twice", NULL},
    {"two id columns",
     S1("{'name':'id1','role':'id','type':'string','label':'I'},"
        "{'name':'id2','role':'id','type':'string','label':'J'}"),
     PF_ESCHEMA, "column 'id2': only one column may have role id", NULL},
    {"id not a string", S1("{'name':'pid','role':'id','type':'integer','label':'I'}"), PF_ESCHEMA,
     "column 'pid': the id column must be an input column of type string", NULL},
    {"id allowed to be missing",
     S1("{'name':'pid','role':'id','type':'string','label':'I','missing':'allow'}"), PF_ESCHEMA,
     "column 'pid': the id may not be missing", NULL},
    {"unknown reference in levels_from",
     S1("{'name':'b','role':'feature','type':'category','label':'B',"
        "'levels_from':{'reference':'nope'}}"),
     PF_ESCHEMA, "column 'b': unknown reference 'nope'", NULL},
    {"unknown reference in derive",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels_from':{'reference':"
        "'t'}},{'name':'c','role':'feature','type':'category','label':'C','levels':[{'code':'x'}"
        "],'derive':{'source':'b','reference':'nope','value':'grp'}}"),
     PF_ESCHEMA, "column 'c': unknown reference 'nope'", NULL},
    {"reference file missing",
     "{" TOP "'references':{'x':{'file':'nope.csv','key':'code'}},'columns':[" COL_A "]}",
     PF_ESCHEMA, "reference 'x'", "nope.csv"},
    {"reference table malformed",
     "{" TOP "'references':{'b':{'file':'bad.csv','key':'code'}},'columns':[" COL_A "]}",
     PF_ESCHEMA, "reference 'b'", "record 2 has 1 fields, header has 2"},
    {"reference key column missing",
     "{" TOP "'references':{'t':{'file':'t.csv','key':'kod'}},'columns':[" COL_A "]}", PF_ESCHEMA,
     "reference 't': table", "has no column 'kod'"},
    {"levels_from label column missing",
     S1("{'name':'b','role':'feature','type':'category','label':'B',"
        "'levels_from':{'reference':'t','label':'namn'}}"),
     PF_ESCHEMA, "column 'b': table", "has no column 'namn'"},
    {"derive value column missing",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels_from':{'reference':"
        "'t'}},{'name':'c','role':'feature','type':'category','label':'C','levels':[{'code':'x'}"
        "],'derive':{'source':'b','reference':'t','value':'zzz'}}"),
     PF_ESCHEMA, "column 'c': table", "has no column 'zzz'"},
    {"derived source listed after it",
     S1("{'name':'c','role':'feature','type':'category','label':'C','levels':[{'code':'x'},"
        "{'code':'y'}],'derive':{'source':'b','reference':'t','value':'grp'}},"
        "{'name':'b','role':'feature','type':'category','label':'B','levels_from':{'reference':"
        "'t'}}"),
     PF_ESCHEMA, "column 'c': source 'b' is not a column listed before it", NULL},
    {"derived source unknown",
     S1("{'name':'c','role':'feature','type':'category','label':'C','levels':[{'code':'x'}],"
        "'derive':{'source':'nosuch','reference':'t','value':'grp'}}"),
     PF_ESCHEMA, "column 'c': source 'nosuch' is not a column listed before it", NULL},
    {"derived source numeric",
     S1("{'name':'c','role':'feature','type':'category','label':'C','levels':[{'code':'x'}],"
        "'derive':{'source':'a','reference':'t','value':'grp'}}"),
     PF_ESCHEMA, "column 'c': source 'a' must be a category or string input column", NULL},
    {"derived column not a category",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels_from':{'reference':"
        "'t'}},{'name':'c','role':'feature','type':'integer','label':'C',"
        "'derive':{'source':'b','reference':'t','value':'grp'}}"),
     PF_ESCHEMA, "column 'c': a derived column must be of type category", NULL},
    {"derived value not a level",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels_from':{'reference':"
        "'t'}},{'name':'c','role':'feature','type':'category','label':'C','levels':[{'code':'x'}"
        "],'derive':{'source':'b','reference':'t','value':'grp'}}"),
     PF_ESCHEMA, "column 'c': value 'y' (table", "row 3) is not a level"},
    {"derive default not a level",
     S1("{'name':'b','role':'feature','type':'category','label':'B','levels_from':{'reference':"
        "'t'}},{'name':'c','role':'feature','type':'category','label':'C','levels':[{'code':'x'},"
        "{'code':'y'}],'derive':{'source':'b','reference':'t','value':'grp','default':'q'}}"),
     PF_ESCHEMA, "column 'c': default 'q' is not a level", NULL},
    {"derive prefix not an integer",
     S1("{'name':'b','role':'feature','type':'string','label':'B'},{'name':'c','role':'feature',"
        "'type':'category','label':'C','levels':[{'code':'x'},{'code':'y'}],"
        "'derive':{'source':'b','reference':'t','value':'grp','prefix':1.5}}"),
     PF_ESCHEMA, "column 'c': 'prefix' must be a small non-negative integer", NULL},
    {"unsupported format",
     "{'format':'profil-schema/2','name':'t','version':'1','columns':[" COL_A "]}", PF_ESCHEMA,
     "format 'profil-schema/2' is not supported (expected 'profil-schema/1')", NULL},
    {"format missing", "{'name':'t','version':'1','columns':[" COL_A "]}", PF_ESCHEMA,
     "missing key 'format'", NULL},
    {"no columns", "{" TOP "'columns':[]}", PF_ESCHEMA, "'columns' must be a non-empty array",
     NULL},
    {"missing_values not an array", "{" TOP "'missing_values':'NA','columns':[" COL_A "]}",
     PF_ESCHEMA, "'missing_values' must be an array of strings", NULL},
    {"top level not an object", "[1,2]", PF_ESCHEMA, "the top level must be an object", NULL},
    {"invalid JSON", "{" TOP "'columns':[" COL_A "", PF_ESCHEMA, "s.json:1:", NULL},
    {"duplicate JSON key", "{" TOP "'name':'u','columns':[" COL_A "]}", PF_ESCHEMA,
     "duplicate object key", NULL},
};

typedef struct dirstate {
    char *dir;
} dirstate;

static int dir_setup(void **state)
{
    dirstate *d = calloc(1, sizeof *d);
    d->dir = make_tmpdir();
    char *p;
    assert_true(asprintf(&p, "%s/t.csv", d->dir) > 0);
    const char *t = "code,name,grp\nA,Alfa,x\nB,Beta,y\nC,Gamma,x\n";
    write_file(p, t, strlen(t));
    free(p);
    assert_true(asprintf(&p, "%s/bad.csv", d->dir) > 0);
    write_file(p, "code,name\nA\n", 12);
    free(p);
    *state = d;
    return 0;
}

static int dir_teardown(void **state)
{
    dirstate *d = *state;
    rm_tmpdir(d->dir);
    free(d);
    return 0;
}

/* Writes json (with ' for ") to dir/s.json and loads it. */
static int load_text(const char *dir, const char *json, pf_schema **s, pf_error *err)
{
    char *text = strdup(json);
    for (char *q = text; *q; q++)
        if (*q == '\'')
            *q = '"';
    char *p;
    assert_true(asprintf(&p, "%s/s.json", dir) > 0);
    write_file(p, text, strlen(text));
    pf_error_clear(err);
    int rc = pf_schema_load(s, p, err);
    free(p);
    free(text);
    return rc;
}

static void test_bad_schemas(void **state)
{
    dirstate *d = *state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const bad_case *bc = &bad_cases[i];
        pf_schema *s = (pf_schema *) 1;
        pf_error err;
        int rc = load_text(d->dir, bc->json, &s, &err);
        if (rc != bc->status)
            fail_msg("%s: status %d (%s), expected %d", bc->why, rc, err.message, bc->status);
        if (s != NULL)
            fail_msg("%s: *out not NULL on failure", bc->why);
        if (err.status != bc->status)
            fail_msg("%s: err.status %d", bc->why, err.status);
        if (!strstr(err.message, bc->msg1) || (bc->msg2 && !strstr(err.message, bc->msg2)))
            fail_msg("%s: message '%s' lacks '%s'%s%s", bc->why, err.message, bc->msg1,
                     bc->msg2 ? " / " : "", bc->msg2 ? bc->msg2 : "");
        /* Every message starts with the file it is about. */
        if (!strstr(err.message, "s.json"))
            fail_msg("%s: message '%s' does not name the file", bc->why, err.message);
    }
}

/* The building blocks of the bad cases are themselves valid. */
static void test_good_small_schemas(void **state)
{
    dirstate *d = *state;
    pf_schema *s;
    pf_error err;
    int rc = load_text(d->dir,
                       S1("{'name':'b','role':'feature','type':'category','label':'B',"
                          "'levels_from':{'reference':'t','label':'name'}},"
                          "{'name':'c','role':'feature','type':'category','label':'C',"
                          "'levels':[{'code':'x'},{'code':'y'}],"
                          "'derive':{'source':'b','reference':'t','value':'grp'}},"
                          "{'name':'e','role':'feature','type':'string','label':'E'},"
                          "{'name':'f','role':'feature','type':'category','label':'F',"
                          "'levels':[{'code':'x'},{'code':'y'}],'derive':{'source':'e',"
                          "'reference':'t','value':'grp','prefix':1,'default':'y'}}"),
                       &s, &err);
    if (rc)
        fail_msg("%s", err.message);
    assert_int_equal(s->ncols, 5);
    assert_int_equal(s->id_col, -1);
    const pf_column *b = col(s, "b");
    assert_int_equal(b->nlevels, 3);
    assert_string_equal(b->levels[2].code, "C");
    assert_string_equal(b->levels[2].label, "Gamma");
    /* Default missing_values: the empty string only. */
    assert_int_equal(s->nmissing_tokens, 1);
    assert_string_equal(s->missing_tokens[0], "");
    /* Defaults of a column: required unless a label, missing rejected. */
    const pf_column *a = col(s, "a");
    assert_true(a->required);
    assert_int_equal(a->missing, PF_MISSING_REJECT);
    assert_true(isinf(a->min) && a->min < 0);
    pf_schema_free(s);

    /* A missing schema file. */
    s = (pf_schema *) 1;
    assert_int_equal(pf_schema_load(&s, "/nonexistent/profil/s.json", &err), PF_ESCHEMA);
    assert_null(s);
    assert_contains(err.message, "/nonexistent/profil/s.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_af_schema),
        cmocka_unit_test(test_other_schema),
        cmocka_unit_test_setup_teardown(test_bad_schemas, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_good_small_schemas, dir_setup, dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
