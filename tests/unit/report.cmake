# Unit tests of the report's plotting layer and encoders (report/plot.c,
# report/report.c), and the replay of the eval.json fuzz corpus with the
# normal compiler: every committed eval.json is checked and built.
pf_unit_test(test_plot unit/test_plot.c LIBS profil_report_core)

add_executable(fuzz_evaljson_replay fuzz/replay.c fuzz/fuzz_evaljson.c)
target_link_libraries(fuzz_evaljson_replay PRIVATE profil_report_core)
add_test(NAME fuzz_evaljson_replay
         COMMAND fuzz_evaljson_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/evaljson)
