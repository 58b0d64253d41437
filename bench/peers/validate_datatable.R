#!/usr/bin/env Rscript
# bench/peers/validate_datatable.R - what `profil validate FILE` does, written
# the way a data.table user would: read the CSV with data.table::fread, then
# check every row vectorised against the af-inskrivning schema and the
# reference tables in data/ref, derive fodelseregion, lanskod and
# sokt_yrke_N_omrade, and count rows read, accepted and rejected.
#
#   Rscript validate_datatable.R [--ref DIR] [--rejected-rows FILE] FILE
#
# Every column is read as character (codes keep their leading zeros, numbers
# keep their text for the checks). Membership is %chin% against the
# reference keys; the regular expressions (number syntax, the SSYK pattern,
# the personnummer scan) run once per distinct value of a column, and their
# result is spread to the rows with match(). setDTthreads(2).
#
# The personnummer scan covers every column but id (in numeric columns the
# text before the decimal separator: the digits after it are a fraction): a
# regular expression finds candidates (6 or 8 date digits, optional - or +,
# 4 digits, not inside a longer digit run); the date (day + 60 for
# coordination numbers, century 18-20 in the 12-digit form) and the Luhn
# check digit are then checked on the few candidates.
#
# Known differences from profil's reader (none occurs in `profil synth`
# output): fread drops blanks around unquoted fields but not tabs (profil
# drops both); a row with too few or too many fields makes fread stop or
# fill (profil rejects it as field_count); fread does not check UTF-8.
suppressPackageStartupMessages(library(data.table))
setDTthreads(2)

args <- commandArgs(trailingOnly = TRUE)
script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])
ref <- file.path(dirname(normalizePath(script)), "..", "..", "data", "ref")
rows_out <- NULL
while (length(args) > 1) {
    if (args[1] == "--ref") ref <- args[2]
    else if (args[1] == "--rejected-rows") rows_out <- args[2]
    else stop("unknown option ", args[1])
    args <- args[-(1:2)]
}
if (length(args) != 1) stop("usage: validate_datatable.R [--ref DIR] [--rejected-rows FILE] FILE")
file <- args[1]

MISSING <- c("", "NA")
read_ref <- function(name) fread(file.path(ref, name), colClasses = "character", na.strings = NULL)

# The schema, written out.
INTEGER <- list(alder = c(16, 67), inskrivningsmanad = c(1, 12), inskrivningsdagar = c(0, 7300),
                dagar_foregaende_period = c(0, 7300), dagar_sedan_foregaende_period = c(0, 25000),
                antal_tidigare_perioder = c(0, 99), dagar_tidigare_program = c(0, 7300))
NUMBER <- list(omr_arbetsloshet = c(0, 100), omr_medianinkomst = c(0, 2000),
               omr_andel_eftergymnasial = c(0, 100), omr_andel_utrikes_medborgare = c(0, 100),
               omr_andel_ensamhushall = c(0, 100))
BOOLEAN <- c("utbildning_sokt_yrke", "akassa", "nedsatt_arbetsformaga", "kommunovergripande",
             "sprakstod", "arbete_studier_90d", "arbete_studier_180d")
SSYK <- paste0("sokt_yrke_", 1:4)
kommuner <- read_ref("kommuner.csv")
region <- read_ref("fodelseland-region.csv")
omrade <- read_ref("ssyk2012-yrkesomraden.csv")$kod
CODES <- c(list(kon = c("K", "M"),
                fodelseland = read_ref("iso3166-1.csv")$alpha2,
                kommunkod = kommuner$kommunkod,
                utbildningsniva = read_ref("sun-utbildningsniva.csv")$kod,
                utbildningsinriktning = read_ref("sun-inriktning.csv")$kod,
                erfarenhet_sokt_yrke = as.character(0:4),
                funktionsnedsattning = read_ref("funktionsnedsattning.csv")$kod,
                sokandekategori = read_ref("sokandekategori.csv")$kod,
                ramprogram = c("ingen", "JOB", "UGA", "ETP")),
           setNames(rep(list(c("0", "1")), length(BOOLEAN)), BOOLEAN))
MISSING_ALLOWED <- c(SSYK, "dagar_sedan_foregaende_period", "arbete_studier_90d", "arbete_studier_180d")
MISSING_DEFAULT <- c(utbildningsniva = "9", utbildningsinriktning = "9")
OPTIONAL <- c("arbete_studier_90d", "arbete_studier_180d")
ID_MAX_LENGTH <- 64
NUMBER_RE <- "^[+-]?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?$"
SSYK_RE <- "^[0-9]{4}$"
PNR_RE <- "(?<![0-9])(?:(?:18|19|20)[0-9]{6}|[0-9]{6})(?:[-+][0-9]{4}|[0-9]{4})(?![0-9])"
MDAYS <- c(31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

pnr_exact <- function(m) { # one candidate match
    d <- as.integer(strsplit(gsub("[-+]", "", m), "")[[1]])
    year <- -1
    if (length(d) == 12) {
        year <- sum(d[1:4] * c(1000, 100, 10, 1))
        d <- d[3:12]
    }
    mm <- d[3] * 10 + d[4]
    dd <- d[5] * 10 + d[6]
    if (dd > 60) dd <- dd - 60
    if (mm < 1 || mm > 12 || dd < 1 || dd > MDAYS[mm]) return(FALSE)
    if (mm == 2 && dd == 29 && year >= 0 && !(year %% 4 == 0 && (year %% 100 != 0 || year %% 400 == 0)))
        return(FALSE)
    v <- d * rep(c(2, 1), 5)
    sum(ifelse(v > 9, v - 9, v)) %% 10 == 0
}
has_pnr <- function(u) { # per distinct value
    out <- logical(length(u))
    cand <- which(nchar(u) >= 10)
    cand <- cand[grepl(PNR_RE, u[cand], perl = TRUE)]
    for (i in cand)
        out[i] <- any(vapply(regmatches(u[i], gregexpr(PNR_RE, u[i], perl = TRUE))[[1]], pnr_exact, NA))
    out
}
# f(distinct values) -> logical per distinct value, spread to the rows.
by_unique <- function(x, f) {
    u <- unique(x)
    f(u)[chmatch(x, u)]
}

header <- names(fread(file, nrows = 0))
known <- c("id", names(INTEGER), names(NUMBER), names(CODES), SSYK)
lacking <- setdiff(setdiff(known, header), OPTIONAL)
if (length(lacking)) stop("required columns missing from the header: ", paste(lacking, collapse = ", "))
use <- intersect(header, known)
dt <- fread(file, select = use, colClasses = "character", na.strings = MISSING, showProgress = FALSE)
for (c in setdiff(OPTIONAL, use)) set(dt, j = c, value = NA_character_)
n <- nrow(dt)
bad <- logical(n)

bad <- bad | is.na(dt$id) | nchar(dt$id, type = "bytes") > ID_MAX_LENGTH
for (c in setdiff(names(dt), "id")) {
    x <- dt[[c]]
    miss <- is.na(x)
    if (c %in% names(MISSING_DEFAULT)) {
        x[miss] <- MISSING_DEFAULT[[c]]
        set(dt, j = c, value = x)
        miss <- logical(n)
    }
    if (c %in% names(INTEGER) || c %in% names(NUMBER)) {
        range <- if (c %in% names(INTEGER)) INTEGER[[c]] else NUMBER[[c]]
        whole <- c %in% names(INTEGER)
        ok <- by_unique(x, function(u) {
            v <- suppressWarnings(as.numeric(u))
            grepl(NUMBER_RE, u) & !is.na(v) & v >= range[1] & v <= range[2] &
                (!whole | v == floor(v)) & !has_pnr(sub("[.,].*", "", u)) # fraction digits are no pnr
        })
    } else if (c %in% SSYK) {
        ok <- by_unique(x, function(u) grepl(SSYK_RE, u) & !has_pnr(u))
    } else {
        ok <- x %chin% CODES[[c]] & !by_unique(x, has_pnr)
    }
    bad <- bad | if (c %in% MISSING_ALLOWED) !miss & !ok else miss | !ok
}

# Derived columns; a key absent from its table rejects the row unless there
# is a default (fodelseregion has one).
dt[region, fodelseregion := i.fodelseregion, on = c(fodelseland = "iso2")]
dt[is.na(fodelseregion) & !is.na(fodelseland), fodelseregion := "utanfor_europa"]
dt[kommuner, lanskod := i.lanskod, on = "kommunkod"]
bad <- bad | (!is.na(dt$kommunkod) & is.na(dt$lanskod))
for (c in SSYK) {
    o <- substr(dt[[c]], 1, 1)
    set(dt, j = paste0(c, "_omrade"), value = o)
    bad <- bad | (!is.na(o) & !(o %chin% omrade))
}

rejected <- sum(bad)
cat(sprintf("rows read:      %d\nrows accepted:  %d\nrows rejected:  %d\n", n, n - rejected, rejected))
if (!is.null(rows_out)) fwrite(list(which(bad)), rows_out, col.names = FALSE)
