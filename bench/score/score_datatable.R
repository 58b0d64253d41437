# bench/score/score_datatable.R - the peer of
# `profil score --policy POLICY -m MODEL -o OUT.csv IN.csv` in R, written the
# way a data.table user would: fread the population, evaluate the model's
# terms column by column into the linear predictor and the per-feature
# contributions, apply the policy's rules vectorised, keep the top three
# reasons with max.col, fwrite the decisions. setDTthreads(2).
#
#   Rscript bench/score/score_datatable.R MODEL.json POLICY.json SCHEMA.json IN.csv OUT.csv
#
# Prints the elapsed seconds of its steps on one line,
#   timing read=S model=S policy=S reasons=S write=S rows=N
#
# Everything comes from the three JSON files (read with jsonlite), nothing is
# written out by hand:
#   - schema: column types (categories and strings are read as character so
#     that codes such as 0184 keep their zeros), the missing tokens, defaults
#     for missing values, the column order (ties between reasons), and the
#     derived columns (fodelseregion from fodelseland through
#     data/ref/fodelseland-region.csv, any other country = the default
#     utanfor_europa), computed when the input lacks them;
#   - model: the terms in coefficient-table form (term, level), with the
#     factors x, log1p(x), hinge(x,k), bin(x,lo,hi), missing(x), category
#     levels, interactions joined by ':' (a missing value gives 0 to every
#     factor but missing(x)); coefficients and reference values;
#   - policy: groups, levels (or tracks), target groups, delivery areas,
#     compensation and the eligibility rules, in their order.
#
# The output has profil's columns and values; numbers are rounded to the
# same decimals (p 6, logit and contributions 4) and written by fwrite in
# their shortest form (0.25 where profil writes 0.250000).
suppressPackageStartupMessages({
    library(data.table)
    library(jsonlite)
})
setDTthreads(2)

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 5)
    stop("usage: Rscript score_datatable.R MODEL.json POLICY.json SCHEMA.json IN.csv OUT.csv")
now <- function() proc.time()[["elapsed"]]
t0 <- now()

model <- fromJSON(args[1], simplifyVector = FALSE)
policy <- fromJSON(args[2], simplifyVector = FALSE)
schema <- fromJSON(args[3], simplifyVector = FALSE)
sha16 <- function(f) {
    h <- system2("sha256sum", shQuote(f), stdout = TRUE)
    substr(h, 1, 16)
}
model_id <- sha16(args[1])
policy_id <- sha16(args[2])

# --- the schema --------------------------------------------------------------
scol <- schema$columns
sname <- vapply(scol, `[[`, "", "name")
names(scol) <- sname
stype <- vapply(scol, `[[`, "", "type")
names(stype) <- sname
is_text <- function(col) stype[[col]] %in% c("category", "string")

# --- which columns the model and the policy use -----------------------------------
# A factor: list(kind, col, a, b, level); a term: its factors.
factor_re <- "^(log1p|hinge|bin|missing)\\(([^,()]+)(?:,([^,()]+))?(?:,([^,()]+))?\\)$"
parse_factor <- function(s) {
    m <- regmatches(s, regexec(factor_re, s))[[1]]
    if (length(m)) {
        list(kind = m[2], col = m[3], a = as.numeric(m[4]), b = as.numeric(m[5]))
    } else {
        list(kind = if (is_text(s)) "level" else "value", col = s, a = NA, b = NA)
    }
}
terms <- model$terms
nterms <- length(terms)
coef <- vapply(terms, function(t) t$coefficient, 0)
ref <- vapply(terms, function(t) if (is.null(t$reference_value)) 0 else t$reference_value, 0)
tfac <- vector("list", nterms)
for (j in seq_len(nterms)) {
    t <- terms[[j]]
    if (t$term == "(Intercept)")
        next
    fs <- lapply(strsplit(t$term, ":", fixed = TRUE)[[1]], parse_factor)
    lv <- if (nzchar(t$level)) strsplit(t$level, ":", fixed = TRUE)[[1]] else character()
    k <- 0L
    for (i in seq_along(fs))
        if (fs[[i]]$kind == "level") {
            k <- k + 1L
            fs[[i]]$level <- lv[k]
        }
    tfac[[j]] <- fs
}
model_cols <- unique(unlist(lapply(tfac, function(fs) vapply(fs, `[[`, "", "col"))))
# Features (schema columns the model uses) in schema order.
features <- sname[sname %in% model_cols]

cond_cols <- function(conds) vapply(conds, `[[`, "", "column")
policy_cols <- c(
    unlist(lapply(policy$target_groups, function(g) cond_cols(g$all))),
    if (!is.null(policy$tracks)) cond_cols(policy$tracks$language_support),
    if (!is.null(policy$delivery_areas)) policy$delivery_areas$column,
    unlist(lapply(policy$eligibility, function(r) if (!is.null(r$all)) cond_cols(r$all))))
needed <- unique(c(model_cols, policy_cols))

# --- read ----------------------------------------------------------------------
header <- strsplit(readLines(args[4], n = 1L), ",", fixed = TRUE)[[1]]
derive_src <- function(col) if (!is.null(scol[[col]]$derive)) scol[[col]]$derive$source else col
read_cols <- unique(c("id", vapply(needed, function(col)
    if (col %in% header) col else derive_src(col), "", USE.NAMES = FALSE)))
text_cols <- read_cols[vapply(read_cols, function(col) col == "id" || is_text(col), TRUE)]
d <- fread(args[4], select = read_cols, na.strings = unlist(schema$missing_values),
           colClasses = list(character = text_cols), showProgress = FALSE)
n <- nrow(d)
t1 <- now()

# Defaults for missing values, then derived columns the input lacks.
for (col in intersect(read_cols, sname)) {
    s <- scol[[col]]
    if (identical(s$missing, "default") && anyNA(d[[col]])) {
        v <- if (is_text(col)) as.character(s$default) else as.numeric(s$default)
        set(d, which(is.na(d[[col]])), col, v)
    }
}
for (col in setdiff(needed, header)) {
    dv <- scol[[col]]$derive
    r <- schema$references[[dv$reference]]
    tab <- fread(file.path(dirname(args[3]), r$file), colClasses = "character")
    src <- d[[dv$source]]
    if (!is.null(dv$prefix))
        src <- substr(src, 1L, dv$prefix)
    v <- tab[[dv$value]][chmatch(src, tab[[r$key]])]
    if (!is.null(dv$default))
        v[is.na(v) & !is.na(src)] <- dv$default
    set(d, j = col, value = v)
}

# --- model: linear predictor and contributions ------------------------------------
# A category column once as integer codes, so each level test is an integer compare.
codes <- list()
level_codes <- function(col) {
    if (is.null(codes[[col]])) {
        v <- d[[col]]
        u <- unique(v)
        codes[[col]] <<- list(u = u, i = chmatch(v, u))
    }
    codes[[col]]
}
factor_value <- function(f) {
    if (f$kind == "level") {
        cc <- level_codes(f$col)
        k <- match(f$level, cc$u)
        return(if (is.na(k)) numeric(n) else as.numeric(cc$i == k))
    }
    if (f$kind == "missing")
        return(as.numeric(is.na(d[[f$col]])))
    x <- as.numeric(d[[f$col]])
    v <- switch(f$kind,
        value = x,
        log1p = log1p(x),
        hinge = pmax(x - f$a, 0),
        bin = as.numeric(x >= f$a & x < f$b))
    v[is.na(x)] <- 0
    v
}
eta <- numeric(n)
contrib <- setNames(rep(list(numeric(n)), length(features)), features)
# A category entered only through its own levels (no interaction) is a lookup:
# one value per distinct code for the linear predictor, one for the contribution.
single <- vapply(tfac, function(fs) length(fs) == 1L && fs[[1]]$kind == "level", TRUE)
term_col <- vapply(tfac, function(fs) if (is.null(fs)) "" else fs[[1]]$col, "")
lookup <- setdiff(unique(term_col[single]), term_col[!single])
for (col in lookup) {
    cc <- level_codes(col)
    e_tab <- numeric(length(cc$u))
    c_tab <- numeric(length(cc$u))
    for (j in which(single & term_col == col)) {
        x <- as.numeric(!is.na(cc$u) & cc$u == tfac[[j]][[1]]$level)
        e_tab <- e_tab + coef[j] * x
        c_tab <- c_tab + coef[j] * (x - ref[j])
    }
    eta <- eta + e_tab[cc$i]
    contrib[[col]] <- c_tab[cc$i]
}
for (j in seq_len(nterms)) {
    fs <- tfac[[j]]
    if (is.null(fs)) { # the intercept
        eta <- eta + coef[j]
        next
    }
    if (single[j] && term_col[j] %in% lookup)
        next # done above
    x <- factor_value(fs[[1]])
    for (f in fs[-1])
        x <- x * factor_value(f)
    eta <- eta + coef[j] * x
    fc <- unique(vapply(fs, `[[`, "", "col"))
    cj <- coef[j] * (x - ref[j]) / length(fc)
    for (q in fc)
        contrib[[q]] <- contrib[[q]] + cj
}
p <- plogis(eta)
t2 <- now()

# --- policy ---------------------------------------------------------------------
holds <- function(conds) { # a conjunction of conditions; missing never holds
    ok <- rep(TRUE, n)
    for (k in conds) {
        v <- d[[k$column]]
        if (!is.null(k$`in`)) {
            codes_in <- unlist(k$`in`)
            ok <- ok & if (is.character(v)) v %chin% codes_in else
                (!is.na(v) & v %in% as.numeric(codes_in))
        } else {
            lo <- if (is.null(k$min)) -Inf else k$min
            hi <- if (is.null(k$max)) Inf else k$max
            ok <- ok & !is.na(v) & v >= lo & v <= hi
        }
    }
    ok
}
g <- policy$groups
grupp <- fifelse(p >= g$close_min_p, 1L, fifelse(p < g$far_below_p, 3L, 2L))
niva <- rep(NA_character_, n)
if (!is.null(policy$levels)) {
    L <- policy$levels
    on <- grupp %in% unlist(L$groups)
    niva[on] <- fifelse(p[on] >= L$a_min_p, "A", fifelse(p[on] >= L$b_min_p, "B", "C"))
}
spar <- rep(NA_integer_, n)
if (!is.null(policy$tracks)) {
    Tr <- policy$tracks
    on <- grupp %in% unlist(Tr$groups)
    spar[on] <- (1L + holds(Tr$language_support) + 2L * (p < Tr$enhanced_below_p))[on]
}
out <- data.table(id = d$id, p = round(p, 6), logit = round(eta, 4), grupp = grupp,
                  niva = niva, spar = spar)
for (tg in policy$target_groups)
    set(out, j = paste0("malgrupp_", tg$code), value = as.integer(holds(tg$all)))

area <- rep(NA_integer_, n)
covered <- rep(TRUE, n)
areas <- policy$delivery_areas$areas
if (!is.null(policy$delivery_areas)) {
    muni <- unlist(lapply(areas, function(a) unlist(a$municipalities)))
    aidx <- rep(seq_along(areas), vapply(areas, function(a) length(a$municipalities), 0L))
    area <- aidx[chmatch(d[[policy$delivery_areas$column]], muni)]
    covered <- !is.na(area)
}
area_name <- vapply(areas, `[[`, "", "name")
area_model <- vapply(areas, function(a) as.integer(a$compensation_model), 0L)
ersmodell <- area_model[area]
step <- if (!is.null(policy$levels)) niva else as.character(spar)
crow <- policy$compensation$rows
ckey <- vapply(crow, function(r) paste(if (!is.null(r$level)) r$level else r$track,
                                       if (!is.null(r$model)) r$model else 0), "")
cmax <- vapply(crow, function(r) as.numeric(r$max_per_participant), 0)
has <- covered & !is.na(step)
k <- chmatch(paste(step, fifelse(is.na(ersmodell), 0L, ersmodell)), ckey)
k0 <- chmatch(paste(step, 0), ckey) # a row for every compensation model
maxers <- fifelse(has, cmax[fcoalesce(k, k0)], NA_real_)

fail <- rep(NA_character_, n)
for (r in policy$eligibility) {
    ok <- switch(r$rule,
        delivery_area = covered,
        group = grupp %in% unlist(r$groups),
        condition = holds(r$all))
    fail[is.na(fail) & !ok] <- r$code
}
set(out, j = "leveransomrade", value = area_name[area])
set(out, j = "ersattningsmodell", value = ersmodell)
set(out, j = "max_ersattning", value = as.integer(maxers))
set(out, j = "eligible", value = as.integer(is.na(fail)))
set(out, j = "ineligible_rule", value = fail)
t3 <- now()

# --- reasons: the three largest |contributions|, ties in schema order -----------------
contrib <- do.call(cbind, contrib)
A <- abs(contrib)
rows <- seq_len(n)
for (k in 1:3) {
    j <- max.col(A, ties.method = "first")
    at <- cbind(rows, j)
    a <- A[at]
    nz <- a > 0
    set(out, j = paste0("reason_", k), value = fifelse(nz, features[j], NA_character_))
    set(out, j = paste0("reason_", k, "_contribution"),
        value = fifelse(nz, round(contrib[at], 4), NA_real_))
    A[at] <- -1
}
set(out, j = "model_id", value = model_id)
set(out, j = "policy_id", value = policy_id)
t4 <- now()

fwrite(out, args[5], na = "", scipen = 50L)
t5 <- now()
cat(sprintf("timing read=%.2f model=%.2f policy=%.2f reasons=%.2f write=%.2f rows=%d\n",
            t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, n))
