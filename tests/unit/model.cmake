# Unit tests of model terms (the encoder), specifications and model files.
pf_unit_test(test_model ${CMAKE_CURRENT_LIST_DIR}/test_model.c LIBS profil_train)
