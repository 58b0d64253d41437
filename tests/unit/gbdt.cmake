# Unit tests of gradient-boosted trees: the tree kernel and TreeSHAP against
# hand-computed values, and the trainer (determinism, monotone constraints).
pf_unit_test(test_gbdt ${CMAKE_CURRENT_LIST_DIR}/test_gbdt.c LIBS profil_train)
