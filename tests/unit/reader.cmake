# Unit tests of the input side: the CSV reader, the schema loader, and the
# parsers and writers under them (numbers, identity numbers, UTF-8, string
# map, reference tables, CSV fields, output files). They may use model/'s
# private headers. Also replays the reader's fuzz corpus (tests/fuzz/) with
# the normal compiler, so every input that once mattered stays checked.
pf_unit_test(test_reader unit/test_reader.c)
target_include_directories(test_reader PRIVATE ${CMAKE_SOURCE_DIR}/model)

pf_unit_test(test_schema unit/test_schema.c)
target_include_directories(test_schema PRIVATE ${CMAKE_SOURCE_DIR}/model)

pf_unit_test(test_parsers unit/test_parsers.c)
target_include_directories(test_parsers PRIVATE ${CMAKE_SOURCE_DIR}/model)

foreach(target reader schema policy whatif records)
  add_executable(fuzz_${target}_replay fuzz/replay.c fuzz/fuzz_${target}.c)
  target_link_libraries(fuzz_${target}_replay PRIVATE profil)
  target_include_directories(fuzz_${target}_replay PRIVATE ${CMAKE_SOURCE_DIR}/model)
  target_compile_definitions(fuzz_${target}_replay PRIVATE
    PF_FUZZ_DATADIR="${CMAKE_SOURCE_DIR}/data")
  add_test(NAME fuzz_${target}_replay
           COMMAND fuzz_${target}_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${target})
endforeach()
