# glm_design.R - golden reference for the IRLS fitter (train/irls.c).
#
# Builds fixed synthetic designs and writes, next to this script, the design
# matrices (CSV) and R's results (JSON) that tests/unit/test_irls.c compares
# with. The tests read only the written files; R is needed only to regenerate
# them:
#
#     Rscript tests/golden/glm_design.R
#
# Files written:
#   irls_design.csv        5000 rows: y, w, offset, then the model.matrix columns
#                          (factors, a piecewise-linear hinge basis, a natural
#                          spline basis, an interaction), non-integer case weights
#                          with some zeros
#   irls_counts.csv        300 rows of aggregated binomial data: y = successes /
#                          trials, w = trials
#   irls_glm_weighted.json glm(family = binomial, weights = w) on irls_design.csv
#   irls_glm_offset.json   the same with offset = offset
#   irls_glm_counts.json   glm(family = binomial, weights = trials) on irls_counts.csv
#   irls_ridge.json        L2-penalised fit (no glm equivalent in base R): the same
#                          Newton iteration written out here in plain R, run on
#                          irls_design.csv; its optimality is checked before writing
#
# Every number is written so that it reads back to the identical double: the
# model is fitted on exactly the values the C test reads. Inputs are rounded to
# a few decimals first so that the CSV stays small.

suppressPackageStartupMessages(library(splines))

script_dir <- local({
    f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
    if (length(f)) dirname(normalizePath(sub("^--file=", "", f[1]))) else "."
})

# Shortest decimal text that reads back to the same double.
num <- function(x) {
    s <- sprintf("%.15g", x)
    bad <- as.numeric(s) != x
    s[bad] <- sprintf("%.17g", x[bad])
    s
}
json_num <- function(x) paste0("[", paste(sprintf("%.17g", x), collapse = ", "), "]")
json_str <- function(x) paste0("[", paste0('"', x, '"', collapse = ", "), "]")

write_design <- function(path, X, y, w, offset) {
    cols <- c(list(y, w, offset), lapply(seq_len(ncol(X)), function(j) X[, j]))
    text <- do.call(paste, c(lapply(cols, num), sep = ","))
    writeLines(c(paste(c("y", "w", "offset", colnames(X)), collapse = ","), text), path)
}

write_result <- function(path, fields) {
    body <- vapply(names(fields), function(k) {
        v <- fields[[k]]
        txt <- if (is.character(v) && k %in% c("names", "unpenalized")) json_str(v)
               else if (is.character(v)) paste0('"', v, '"')
               else if (is.logical(v)) tolower(as.character(v))
               else if (length(v) > 1 || k %in% c("coefficients", "se")) json_num(v)
               else sprintf("%.17g", v)
        paste0('  "', k, '": ', txt)
    }, "")
    writeLines(c("{", paste(body, collapse = ",\n"), "}"), path)
}

glm_fields <- function(fit, design, offset, X, w) {
    s <- summary(fit)
    list(source = "R glm(family = binomial)", r_version = R.version.string,
         design = design, offset = offset, l2 = 0,
         names = colnames(X), coefficients = unname(coef(fit)),
         se = unname(s$coefficients[, "Std. Error"]),
         deviance = fit$deviance, null_deviance = fit$null.deviance, aic = fit$aic,
         iterations = fit$iter, converged = fit$converged,
         df_residual = fit$df.residual, df_null = fit$df.null)
}

# --------------------------------------------------------------------------
# Design 1: job seekers with factors, splines, an interaction and weights.

set.seed(20240611)
n <- 5000
region <- factor(sample(c("south", "north", "middle", "west"), n, replace = TRUE,
                        prob = c(0.35, 0.2, 0.3, 0.15)),
                 levels = c("south", "north", "middle", "west"))
edu <- factor(sample(c("basic", "upper", "higher"), n, replace = TRUE,
                     prob = c(0.25, 0.45, 0.3)),
              levels = c("basic", "upper", "higher"))
age <- sample(18:64, n, replace = TRUE)
h30 <- pmax(age - 30, 0)            # piecewise-linear hinge basis, knots 30 and 50
h50 <- pmax(age - 50, 0)
months <- rgeom(n, 0.08)
lmonths <- round(log1p(months), 6)
exper <- round(runif(n, 0, 30), 2)
S <- round(unclass(ns(exper, df = 3))[, 1:3], 6)
w <- round(runif(n, 0.5, 2), 3)
w[sample(n, 50)] <- 0               # rows that must not count
offset <- round(rnorm(n, 0, 0.3), 4)

eta <- 0.4 + c(0, -0.3, 0.15, -0.5)[region] + c(0, 0.35, 0.8)[edu] +
    0.02 * age - 0.035 * h30 - 0.05 * h50 - 0.45 * lmonths +
    0.6 * S[, 1] + 0.9 * S[, 2] + 0.3 * S[, 3] +
    ifelse(edu == "upper", -0.006, ifelse(edu == "higher", -0.012, 0)) * age
y <- rbinom(n, 1, plogis(eta))

d <- data.frame(y, w, offset, region, edu, age, h30, h50, lmonths,
                s1 = S[, 1], s2 = S[, 2], s3 = S[, 3])
form <- y ~ region + edu + age + h30 + h50 + lmonths + s1 + s2 + s3 + edu:age

# Non-integer weights make binomial() warn about non-integer successes; the
# fit itself is well defined (dispersion 1), and that is what is compared.
fit1 <- suppressWarnings(glm(form, family = binomial, data = d, weights = w))
fit2 <- suppressWarnings(glm(form, family = binomial, data = d, weights = w,
                             offset = offset))
X <- model.matrix(fit1)
stopifnot(fit1$converged, fit2$converged, identical(X, model.matrix(fit2)))

write_design(file.path(script_dir, "irls_design.csv"), X, y, w, offset)
write_result(file.path(script_dir, "irls_glm_weighted.json"),
             glm_fields(fit1, "irls_design.csv", FALSE, X, w))
write_result(file.path(script_dir, "irls_glm_offset.json"),
             glm_fields(fit2, "irls_design.csv", TRUE, X, w))

# --------------------------------------------------------------------------
# Design 1 again, L2-penalised: minimise deviance / 2 + lambda / 2 * sum of
# the squared penalised coefficients (all but the intercept). The iteration is
# glm.fit's (same start, same working weights, convergence on the relative
# change of the penalised deviance) with the penalty added to X'WX; the
# covariance is the inverse of the last penalised X'WX, as glm's is of the
# last X'WX.

ridge_irls <- function(X, y, w, lambda, pen, maxit = 25, tol = 1e-8) {
    fam <- binomial()
    mu <- (w * y + 0.5) / (w + 1)
    eta <- fam$linkfun(mu)
    mu <- fam$linkinv(eta)
    devold <- sum(fam$dev.resids(y, mu, w))
    conv <- FALSE
    for (iter in seq_len(maxit)) {
        me <- fam$mu.eta(eta)
        W <- w * me^2 / fam$variance(mu)
        z <- eta + (y - mu) / me
        R <- chol(crossprod(X, W * X) + diag(lambda * pen))
        beta <- drop(backsolve(R, forwardsolve(t(R), crossprod(X, W * z))))
        eta <- drop(X %*% beta)
        mu <- fam$linkinv(eta)
        dev <- sum(fam$dev.resids(y, mu, w))
        pdev <- dev + lambda * sum(pen * beta^2)
        if (abs(pdev - devold) / (abs(pdev) + 0.1) < tol) {
            conv <- TRUE
            break
        }
        devold <- pdev
    }
    V <- chol2inv(R)
    score <- drop(crossprod(X, w * (y - mu))) - lambda * pen * beta
    stopifnot(conv, max(abs(score)) < 1e-6)
    edf <- ncol(X) - lambda * sum(pen * diag(V))
    aic <- fam$aic(y, rep(1, length(y)), mu, w, dev) + 2 * edf
    wtdmu <- sum(w * y) / sum(w)
    list(beta = beta, se = sqrt(diag(V)), deviance = dev, iter = iter,
         null_deviance = sum(fam$dev.resids(y, rep(wtdmu, length(y)), w)), aic = aic,
         edf = edf)
}

lambda <- 5
pen <- as.numeric(colnames(X) != "(Intercept)")
r <- ridge_irls(X, y, w, lambda, pen)
npos <- sum(w > 0)
write_result(file.path(script_dir, "irls_ridge.json"),
             list(source = "Newton iteration in R (glm_design.R: ridge_irls)",
                  r_version = R.version.string, design = "irls_design.csv",
                  offset = FALSE, l2 = lambda, unpenalized = "(Intercept)",
                  names = colnames(X), coefficients = r$beta, se = r$se,
                  deviance = r$deviance, null_deviance = r$null_deviance, aic = r$aic,
                  iterations = r$iter, converged = TRUE,
                  df_residual = npos - r$edf, df_null = npos - 1))

# --------------------------------------------------------------------------
# Design 2: aggregated binomial counts (proportion responses, integer trials),
# which exercise the binomial coefficient in the AIC.

set.seed(7)
m <- 300
grp <- factor(sample(c("a", "b", "c"), m, replace = TRUE), levels = c("a", "b", "c"))
x <- round(rnorm(m), 3)
trials <- 1 + rpois(m, 6)
succ <- rbinom(m, trials, plogis(-0.3 + c(0, 0.5, -0.4)[grp] + 0.7 * x))
dc <- data.frame(y = succ / trials, trials, grp, x)
fit4 <- glm(y ~ grp + x, family = binomial, data = dc, weights = trials)
stopifnot(fit4$converged)
Xc <- model.matrix(fit4)
write_design(file.path(script_dir, "irls_counts.csv"), Xc, dc$y, trials, rep(0, m))
write_result(file.path(script_dir, "irls_glm_counts.json"),
             glm_fields(fit4, "irls_counts.csv", FALSE, Xc, trials))
