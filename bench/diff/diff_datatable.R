# profil diff's work in R with data.table, as an analyst would write it:
# fread both scored CSVs, merge on id (all = TRUE), table() the transitions
# of grupp, nivå, spår and eligibility, summarise the change in p, and
# fwrite the persons whose decision changed or who are on one side only.
#
# usage: Rscript diff_datatable.R A.csv B.csv CHANGES.csv
suppressMessages(library(data.table))
args <- commandArgs(trailingOnly = TRUE)
cols <- c("id", "p", "grupp", "niva", "spar", "leveransomrade", "max_ersattning", "eligible",
          "ineligible_rule")
rd <- function(path) {
  d <- fread(path, select = cols, colClasses = list(character = c("id", "niva", "leveransomrade",
                                                                   "ineligible_rule")),
             na.strings = NULL)
  d[, elig := ifelse(eligible == 1, "ja", ineligible_rule)]
  d[, spar := as.character(spar)]
  unique(d, by = "id")
}
a <- rd(args[1]); b <- rd(args[2])
a[, in_a := TRUE]; b[, in_b := TRUE]
m <- merge(a, b, by = "id", all = TRUE, suffixes = c("_a", "_b"))
both <- m[!is.na(in_a) & !is.na(in_b)]
for (k in c("grupp", "niva", "spar", "elig"))
  print(table(both[[paste0(k, "_a")]], both[[paste0(k, "_b")]], useNA = "ifany"))
print(summary(both$p_b - both$p_a))
dec <- c("grupp", "niva", "spar", "elig", "leveransomrade", "max_ersattning")
same <- function(x, y) (is.na(x) & is.na(y)) | (!is.na(x) & !is.na(y) & x == y)
ch <- Reduce(`|`, lapply(dec, function(k) !same(both[[paste0(k, "_a")]], both[[paste0(k, "_b")]])))
out <- rbind(both[ch][, change := "changed"], m[is.na(in_b)][, change := "only_a"],
             m[is.na(in_a)][, change := "only_b"])
keep <- c("id", "change", as.vector(t(outer(dec, c("_a", "_b"), paste0))))
fwrite(out[, ..keep], args[3])
cat(nrow(out), "persons listed\n")
