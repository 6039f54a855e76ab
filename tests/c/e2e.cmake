# End-to-end tests: the engine's server and client over loopback, raw hostile
# peers, and wss:// with certificates made at test time. They link the static
# library like any user program.
add_library(uvws_e2e_util STATIC ${CMAKE_CURRENT_LIST_DIR}/e2e_util.c)
target_link_libraries(uvws_e2e_util PUBLIC uvws_static)
foreach(t e2e hostile tls)
  add_executable(test_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE uvws_e2e_util)
  add_test(NAME ${t} COMMAND test_${t} ${CMAKE_SOURCE_DIR}/tests/tls/make_certs.sh)
  set_tests_properties(${t} PROPERTIES TIMEOUT 300 LABELS e2e)
endforeach()
