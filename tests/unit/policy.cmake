# Unit tests of dated policies (loading, dates, compensation tables) and of
# the decision core (pf_decide), with every expected value worked out in the
# tests from the model file, the policy files and the reference tables.
pf_unit_test(test_policy ${CMAKE_CURRENT_LIST_DIR}/test_policy.c)
pf_unit_test(test_decide ${CMAKE_CURRENT_LIST_DIR}/test_decide.c LIBS profil_synth)
