# The HTTP service's request-body parser: its fuzz corpus replayed with the
# normal compiler (tests/fuzz/fuzz_request.c), and the reader's field-text
# rows (pf_reader_put_fields) checked against the CSV path.
add_executable(fuzz_request_replay fuzz/replay.c fuzz/fuzz_request.c
               ${CMAKE_SOURCE_DIR}/serve/http_body.c)
target_link_libraries(fuzz_request_replay PRIVATE profil)
target_include_directories(fuzz_request_replay PRIVATE ${CMAKE_SOURCE_DIR}/serve)
target_compile_definitions(fuzz_request_replay PRIVATE PF_FUZZ_DATADIR="${CMAKE_SOURCE_DIR}/data")
add_test(NAME fuzz_request_replay
         COMMAND fuzz_request_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/request)

pf_unit_test(test_fields unit/test_fields.c)

# The output rows' number formatting (serve/rowfmt.c).
pf_unit_test(test_rowfmt unit/test_rowfmt.c LIBS profil_serve)
target_include_directories(test_rowfmt PRIVATE ${CMAKE_SOURCE_DIR}/serve)
