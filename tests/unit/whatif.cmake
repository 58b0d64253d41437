# Unit tests of what-if scoring (model/whatif*.c): settings loading,
# profiles, cards against hand computation from the model file, sweeps,
# comparisons and counterfactuals re-scored.
pf_unit_test(test_whatif ${CMAKE_CURRENT_LIST_DIR}/test_whatif.c)
