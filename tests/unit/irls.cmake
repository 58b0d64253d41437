# Unit tests of the encoded design and the IRLS fitter (train/), against the
# golden R results in tests/golden.
pf_unit_test(test_irls ${CMAKE_CURRENT_LIST_DIR}/test_irls.c LIBS profil_train PkgConfig::GSL)
