# Unit tests of the synthetic population generator (data/synth).
pf_unit_test(test_synth ${CMAKE_CURRENT_LIST_DIR}/test_synth.c LIBS profil_synth)
