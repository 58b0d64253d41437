# Unit tests of the binary-outcome metrics (model/metrics.c), against the
# golden R results in tests/golden (written by tests/golden/metrics.R).
pf_unit_test(test_metrics ${CMAKE_CURRENT_LIST_DIR}/test_metrics.c)
