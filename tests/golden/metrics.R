# metrics.R - golden reference for the binary-outcome metrics (model/metrics.c).
#
# Simulates one holdout set of predictions and writes, next to this script,
# the data and the metrics computed here in base R, each from its definition
# and independently of the C code: the AUC from rank(), DeLong's variance from
# the placement values written out by hand, the calibration intercept and
# slope from glm(family = binomial). tests/unit/test_metrics.c reads only the
# written files; R is needed only to regenerate them:
#
#     Rscript tests/golden/metrics.R
#
# Files written:
#   metrics_data.csv       2000 rows: p (the score), p2 (a second, weaker score
#                          on the same rows), y (0/1), w (case weights, some 0)
#   metrics_expected.json  for "unweighted" (w ignored) and "weighted" (w used):
#                          AUC with DeLong variance and 95 % interval, the paired
#                          DeLong comparison of p with p2, log-loss, Brier score,
#                          base rate, mean prediction, calibration intercept and
#                          slope with standard errors, and calibration tables
#                          for k = 10 and k = 7 groups
#
# The scores are miscalibrated on purpose (the true calibration slope is 1.25
# and the intercept -0.25) and a third of them are rounded to two decimals so
# that many rows share a score, within and across the outcome classes and at
# the group boundaries of the calibration tables.
#
# Weights are frequency weights, as in glm: a row of weight w counts as w
# rows, so the weighted DeLong variance is that of the data with each row
# repeated w times (class sizes become the class weight totals), and rows of
# weight 0 take no part at all.

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

# --------------------------------------------------------------------------
# Data

set.seed(20240613)
n <- 2000
x <- rnorm(n)
eta <- -1 + 1.2 * x
y <- rbinom(n, 1, plogis(eta))
# The score sees eta through logit(p) = 0.2 + 0.8 eta, so y ~ logit(p) has
# slope 1 / 0.8 = 1.25 and intercept -0.2 / 0.8 = -0.25.
p <- plogis(0.2 + 0.8 * eta)
coarse <- runif(n) < 1 / 3
p <- ifelse(coarse, round(p, 2), round(p, 4))
p <- pmin(pmax(p, 1e-4), 1 - 1e-4)
# A weaker score: eta seen through noise.
p2 <- round(plogis(0.2 + 0.8 * (0.7 * eta + rnorm(n, 0, 0.6))), 4)
p2 <- pmin(pmax(p2, 1e-4), 1 - 1e-4)
w <- round(runif(n, 0.2, 3), 2)
w[sample(n, 40)] <- 0

stopifnot(all(p > 0 & p < 1), all(p2 > 0 & p2 < 1), sum(duplicated(p)) > 500)
writeLines(c("p,p2,y,w", paste(num(p), num(p2), y, num(w), sep = ",")),
           file.path(script_dir, "metrics_data.csv"))

# --------------------------------------------------------------------------
# AUC and DeLong

# Unweighted: Mann-Whitney from the mid-ranks, and the placement values from
# the ranks within the whole set and within each class (DeLong et al. 1988):
# V10 (one per positive) = share of negatives scored lower, ties 1/2;
# V01 (one per negative) = share of positives scored higher, ties 1/2.
placements_rank <- function(s, y) {
    pos <- y == 1
    m <- sum(pos)
    n0 <- sum(!pos)
    r <- rank(s)
    auc <- (sum(r[pos]) - m * (m + 1) / 2) / (m * n0)
    v10 <- (r[pos] - rank(s[pos])) / n0
    v01 <- 1 - (r[!pos] - rank(s[!pos])) / m
    list(auc = auc, v10 = v10, v01 = v01, m = m, n0 = n0)
}

# Weighted: the same placement values from the full pairwise comparison
# matrix, with class sizes replaced by class weight totals.
placements_pairs <- function(s, y, w) {
    pos <- y == 1 & w > 0
    neg <- y == 0 & w > 0
    psi <- outer(s[pos], s[neg], function(a, b) (a > b) + 0.5 * (a == b))
    w1 <- w[pos]
    w0 <- w[neg]
    W1 <- sum(w1)
    W0 <- sum(w0)
    v10 <- drop(psi %*% w0) / W0
    v01 <- colSums(w1 * psi) / W1
    list(auc = sum(w1 * v10) / W1, v10 = v10, v01 = v01, w1 = w1, w0 = w0, W1 = W1, W0 = W0)
}

delong <- function(pl) {
    var10 <- sum(pl$w1 * (pl$v10 - pl$auc)^2) / (pl$W1 - 1)
    var01 <- sum(pl$w0 * (pl$v01 - pl$auc)^2) / (pl$W0 - 1)
    v <- var10 / pl$W1 + var01 / pl$W0
    se <- sqrt(v)
    z <- qnorm(0.975)
    list(auc = pl$auc, var = v, se = se,
         ci_lo = max(0, pl$auc - z * se), ci_hi = min(1, pl$auc + z * se))
}

delong_paired <- function(a, b) {
    wcov <- function(u, v, wt, W, mu, mv) sum(wt * (u - mu) * (v - mv)) / (W - 1)
    s10 <- wcov(a$v10, a$v10, a$w1, a$W1, a$auc, a$auc) +
        wcov(b$v10, b$v10, a$w1, a$W1, b$auc, b$auc) -
        2 * wcov(a$v10, b$v10, a$w1, a$W1, a$auc, b$auc)
    s01 <- wcov(a$v01, a$v01, a$w0, a$W0, a$auc, a$auc) +
        wcov(b$v01, b$v01, a$w0, a$W0, b$auc, b$auc) -
        2 * wcov(a$v01, b$v01, a$w0, a$W0, a$auc, b$auc)
    d <- a$auc - b$auc
    se <- sqrt(s10 / a$W1 + s01 / a$W0)
    z <- d / se
    list(auc1 = a$auc, auc2 = b$auc, diff = d, se = se, z = z,
         p_value = 2 * pnorm(-abs(z)),
         ci_lo = d - qnorm(0.975) * se, ci_hi = d + qnorm(0.975) * se)
}

# Unweighted from ranks, cross-checked against the pairwise matrix.
pr <- placements_rank(p, y)
pr2 <- placements_rank(p2, y)
ones <- rep(1, n)
pp <- placements_pairs(p, y, ones)
pp2 <- placements_pairs(p2, y, ones)
stopifnot(all.equal(pr$auc, pp$auc, tolerance = 1e-14),
          all.equal(pr$v10, pp$v10, tolerance = 1e-14),
          all.equal(pr$v01, pp$v01, tolerance = 1e-14))
# In the unweighted case the variance is DeLong's var(V10)/m + var(V01)/n.
stopifnot(all.equal(delong(pp)$var, var(pr$v10) / pr$m + var(pr$v01) / pr$n0,
                    tolerance = 1e-14))
pw <- placements_pairs(p, y, w)
pw2 <- placements_pairs(p2, y, w)

# --------------------------------------------------------------------------
# Proper scores, calibration

scores <- function(s, y, w) {
    q <- pmin(pmax(s, 1e-15), 1 - 1e-15)
    keep <- w > 0
    list(n = sum(keep), sum_w = sum(w),
         base_rate = sum(w * y) / sum(w), mean_p = sum(w * s) / sum(w),
         log_loss = -sum(w * (y * log(q) + (1 - y) * log(1 - q))) / sum(w),
         brier = sum(w * (s - y)^2) / sum(w))
}

calibration <- function(s, y, w) {
    ctl <- glm.control(epsilon = 1e-15, maxit = 100)
    lp <- qlogis(s)
    # Non-integer weights make glm warn about non-integer successes; the fit
    # is the weighted likelihood all the same. glm's standard errors come
    # from the working weights of its last iteration, i.e. of the estimate
    # before the last update, which differs from the solution by about 1e-9
    # relative when the deviance stops changing; a second fit started at the
    # solution takes them at the solution itself.
    fit <- function(formula) {
        f <- suppressWarnings(glm(formula, family = binomial, weights = w, control = ctl))
        stopifnot(f$converged)
        f <- suppressWarnings(glm(formula, family = binomial, weights = w, control = ctl,
                                  start = coef(f)))
        stopifnot(f$converged)
        f
    }
    f0 <- fit(y ~ 1 + offset(lp))
    f1 <- fit(y ~ lp)
    c0 <- summary(f0)$coefficients
    c1 <- summary(f1)$coefficients
    list(intercept = c0[1, 1], intercept_se = c0[1, 2],
         slope_intercept = c1[1, 1], slope_intercept_se = c1[1, 2],
         slope = c1[2, 1], slope_se = c1[2, 2])
}

# Calibration table: rows of positive weight sorted by score (ties in the
# order of the rows, which does not matter because tied rows stay together),
# nominal boundaries at floor(g * n / k) for g = 1 .. k-1, each moved forward
# past any run of equal scores it falls inside, empty groups dropped. The
# observed rate gets a 95 % Wilson interval with the group's weight total as
# its size.
calib_table <- function(s, y, w, k) {
    keep <- w > 0
    s <- s[keep]
    y <- y[keep]
    w <- w[keep]
    o <- order(s)
    s <- s[o]
    y <- y[o]
    w <- w[o]
    nn <- length(s)
    b <- floor((0:k) * nn / k) # 0-based positions; group g = [b[g], b[g+1])
    for (g in 2:k) {
        while (b[g] > 0 && b[g] < nn && s[b[g]] == s[b[g] + 1]) b[g] <- b[g] + 1
        b[g] <- max(b[g], b[g - 1])
    }
    z <- qnorm(0.975)
    rows <- list()
    for (g in 1:k) {
        if (b[g + 1] <= b[g]) next
        i <- (b[g] + 1):b[g + 1]
        W <- sum(w[i])
        r <- sum(w[i] * y[i]) / W
        centre <- (r + z^2 / (2 * W)) / (1 + z^2 / W)
        half <- z / (1 + z^2 / W) * sqrt(r * (1 - r) / W + z^2 / (4 * W^2))
        rows[[length(rows) + 1]] <- c(n = length(i), sum_w = W, p_min = min(s[i]),
                                      p_max = max(s[i]), mean_p = sum(w[i] * s[i]) / W,
                                      obs = r, obs_lo = max(0, centre - half),
                                      obs_hi = min(1, centre + half))
    }
    do.call(rbind, rows)
}

# --------------------------------------------------------------------------
# Output

section <- function(wt, pl, pl2) {
    d <- delong(pl)
    cmp <- delong_paired(pl, pl2)
    sc <- scores(p, y, wt)
    cal <- calibration(p, y, wt)
    tab <- function(k) {
        t <- calib_table(p, y, wt, k)
        paste0("{", paste(sprintf('"%s": %s', colnames(t), apply(t, 2, json_num)),
                          collapse = ", "), "}")
    }
    f <- c(auc = d$auc, auc_var = d$var, auc_se = d$se, auc_ci_lo = d$ci_lo, auc_ci_hi = d$ci_hi,
           auc2 = cmp$auc2, cmp_diff = cmp$diff, cmp_se = cmp$se, cmp_z = cmp$z,
           cmp_p = cmp$p_value, cmp_ci_lo = cmp$ci_lo, cmp_ci_hi = cmp$ci_hi,
           unlist(sc), unlist(cal))
    body <- c(sprintf('    "%s": %s', names(f), sprintf("%.17g", f)),
              sprintf('    "table10": %s', tab(10)), sprintf('    "table7": %s', tab(7)))
    paste0("{\n", paste(body, collapse = ",\n"), "\n  }")
}

out <- c("{",
         sprintf('  "source": "base R (rank, glm), tests/golden/metrics.R",'),
         sprintf('  "r_version": "%s",', R.version.string),
         sprintf('  "unweighted": %s,', section(ones, pp, pp2)),
         sprintf('  "weighted": %s', section(w, pw, pw2)),
         "}")
writeLines(out, file.path(script_dir, "metrics_expected.json"))
