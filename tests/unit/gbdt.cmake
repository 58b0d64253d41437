# Unit tests of gradient-boosted trees: the tree kernel and TreeSHAP against
# hand-computed values, and the trainer (determinism, monotone constraints).
pf_unit_test(test_gbdt ${CMAKE_CURRENT_LIST_DIR}/test_gbdt.c LIBS profil_train)
# The compiled scoring layout against a plain walk of the nodes, bit for bit.
pf_unit_test(test_gbdt_fast ${CMAKE_CURRENT_LIST_DIR}/test_gbdt_fast.c)
# XGBoost JSON models: thresholds against float conversion, a hand model, refusals.
pf_unit_test(test_xgboost ${CMAKE_CURRENT_LIST_DIR}/test_xgboost.c)

# The model loader's fuzz corpus (tests/fuzz/fuzz_model.c), replayed with the
# normal compiler.
add_executable(fuzz_model_replay fuzz/replay.c fuzz/fuzz_model.c)
target_link_libraries(fuzz_model_replay PRIVATE profil)
target_compile_definitions(fuzz_model_replay PRIVATE PF_FUZZ_DATADIR="${CMAKE_SOURCE_DIR}/data")
add_test(NAME fuzz_model_replay
         COMMAND fuzz_model_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/model)

# The XGBoost importer's fuzz corpus (tests/fuzz/fuzz_xgboost.c), replayed
# with the normal compiler.
add_executable(fuzz_xgboost_replay fuzz/replay.c fuzz/fuzz_xgboost.c)
target_link_libraries(fuzz_xgboost_replay PRIVATE profil)
target_compile_definitions(fuzz_xgboost_replay PRIVATE PF_FUZZ_DATADIR="${CMAKE_SOURCE_DIR}/data")
add_test(NAME fuzz_xgboost_replay
         COMMAND fuzz_xgboost_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/xgboost)
