# bench/train/glm.R - the peer of `profil train -m bench/train/spec40.json`
# in R: data.table::fread reads the CSV, the 40-column design of spec40.json
# is built by hand, stats::glm fits it with family = binomial.
#
#   Rscript bench/train/glm.R POP.CSV FODELSELAND-REGION.CSV COEF-OUT.CSV
#
# Prints the elapsed seconds of the three steps on one line,
#   timing read=S design=S fit=S rows=N iterations=K
# and writes the coefficients as term,level,coefficient, the keys of
# profil's --coef-csv, so bench/train/coef_agree.py can compare them.
#
# The design, column for column as profil expands the specification:
#   (Intercept); alder and hinge(alder,k) = max(0, alder - k) for the knots
#   25, 35, 50, 58; one 0/1 column per category level other than the
#   reference, levels in schema order; booleans as 0/1; log1p(x) for the
#   four day and period counts; for dagar_sedan_foregaende_period, which may
#   be missing, log1p(x) is 0 where x is missing and missing(x) is 1 there.
#   fodelseregion is derived as the schema derives it: the region of
#   fodelseland in the reference table, utanfor_europa for any other
#   country. A missing utbildningsniva is its default 9. Rows without a
#   label are left out, as profil does.
suppressPackageStartupMessages(library(data.table))
setDTthreads(2)

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 3)
    stop("usage: Rscript glm.R POP.CSV FODELSELAND-REGION.CSV COEF-OUT.CSV")
now <- function() proc.time()[["elapsed"]]

# --- read -------------------------------------------------------------------
t0 <- now()
codes <- c("id", "kon", "fodelseland", "kommunkod", "utbildningsniva",
           "utbildningsinriktning", "sokt_yrke_1", "sokt_yrke_2", "sokt_yrke_3",
           "sokt_yrke_4", "erfarenhet_sokt_yrke", "funktionsnedsattning",
           "sokandekategori", "ramprogram")
d <- fread(args[1], na.strings = c("", "NA"), colClasses = list(character = codes),
           showProgress = FALSE)
t1 <- now()

# --- design -----------------------------------------------------------------
if (anyNA(d$arbete_studier_180d))
    d <- d[!is.na(arbete_studier_180d)]
region <- fread(args[2], colClasses = "character")
n <- nrow(d)
lev <- function(x, l) as.numeric(!is.na(x) & x == l)
a <- as.numeric(d$alder)
reg <- region$fodelseregion[match(d$fodelseland, region$iso2)]
reg[is.na(reg)] <- "utanfor_europa"
niv <- d$utbildningsniva
niv[is.na(niv)] <- "9"
sedan <- as.numeric(d$dagar_sedan_foregaende_period)
miss <- is.na(sedan)

cols <- vector("list", 39)
keys <- matrix("", 39, 2)
j <- 0L
put <- function(term, level, v) {
    j <<- j + 1L
    cols[[j]] <<- v
    keys[j, ] <<- c(term, level)
}
put("alder", "", a)
for (k in c(25, 35, 50, 58))
    put(sprintf("hinge(alder,%d)", k), "", pmax(a - k, 0))
put("kon", "K", lev(d$kon, "K"))
for (l in c("norden", "eu_efta", "europa_ovrigt", "utanfor_europa"))
    put("fodelseregion", l, lev(reg, l))
for (l in c("1", "2", "3", "5", "6", "7", "9"))
    put("utbildningsniva", l, lev(niv, l))
put("sprakstod", "", as.numeric(d$sprakstod))
put("nedsatt_arbetsformaga", "", as.numeric(d$nedsatt_arbetsformaga))
put("log1p(inskrivningsdagar)", "", log1p(as.numeric(d$inskrivningsdagar)))
put("log1p(antal_tidigare_perioder)", "", log1p(as.numeric(d$antal_tidigare_perioder)))
put("log1p(dagar_tidigare_program)", "", log1p(as.numeric(d$dagar_tidigare_program)))
ls <- log1p(sedan)
ls[miss] <- 0
put("log1p(dagar_sedan_foregaende_period)", "", ls)
put("missing(dagar_sedan_foregaende_period)", "", as.numeric(miss))
for (l in c("1", "2", "3", "4"))
    put("erfarenhet_sokt_yrke", l, lev(d$erfarenhet_sokt_yrke, l))
put("utbildning_sokt_yrke", "", as.numeric(d$utbildning_sokt_yrke))
put("akassa", "", as.numeric(d$akassa))
put("kommunovergripande", "", as.numeric(d$kommunovergripande))
for (l in c("JOB", "UGA", "ETP"))
    put("ramprogram", l, lev(d$ramprogram, l))
for (v in c("omr_arbetsloshet", "omr_medianinkomst", "omr_andel_eftergymnasial",
            "omr_andel_utrikes_medborgare", "omr_andel_ensamhushall"))
    put(v, "", as.numeric(d[[v]]))
stopifnot(j == 39L)
X <- do.call(cbind, cols)
rm(cols)
stopifnot(!anyNA(X))
y <- as.numeric(d$arbete_studier_180d)
t2 <- now()

# --- fit --------------------------------------------------------------------
fit <- glm(y ~ X, family = binomial())
t3 <- now()
if (!fit$converged)
    stop("glm did not converge")

b <- unname(coef(fit))
out <- data.frame(term = c("(Intercept)", keys[, 1]), level = c("", keys[, 2]),
                  coefficient = sprintf("%.17g", b))
fwrite(out, args[3], quote = TRUE)
cat(sprintf("timing read=%.3f design=%.3f fit=%.3f rows=%d iterations=%d\n",
            t1 - t0, t2 - t1, t3 - t2, n, fit$iter))
cat(sprintf("deviance %.4f on %d df\n", fit$deviance, fit$df.residual))
