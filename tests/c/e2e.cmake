# End-to-end tests: the engine's server and client over loopback, raw hostile
# peers, and wss:// with certificates made at test time. They link the static
# library like any user program.
add_library(uvws_e2e_util STATIC ${CMAKE_CURRENT_LIST_DIR}/e2e_util.c
  ${CMAKE_CURRENT_LIST_DIR}/e2e_peer.c)
target_link_libraries(uvws_e2e_util PUBLIC uvws_static)
# test_deflate also checks the (internal) negotiation functions.
target_include_directories(uvws_e2e_util PUBLIC ${CMAKE_SOURCE_DIR}/core/src ${LLHTTP_INCLUDE_DIR})
foreach(t e2e hostile bounds tls deflate topic close_order unix redirect latency)
  add_executable(test_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE uvws_e2e_util)
  add_test(NAME ${t} COMMAND test_${t} ${CMAKE_SOURCE_DIR}/tests/tls/make_certs.sh)
  set_tests_properties(${t} PROPERTIES TIMEOUT 300 LABELS e2e)
endforeach()

# The reconnecting client against a real server process it kills, restarts,
# freezes and thaws (the echo_server example).
if(TARGET echo_server)
  add_executable(test_reconnect ${CMAKE_CURRENT_LIST_DIR}/test_reconnect.c)
  target_link_libraries(test_reconnect PRIVATE uvws_e2e_util)
  add_test(NAME reconnect COMMAND test_reconnect ${CMAKE_SOURCE_DIR}/tests/tls/make_certs.sh
           $<TARGET_FILE:echo_server>)
  set_tests_properties(reconnect PROPERTIES TIMEOUT 300 LABELS e2e)
endif()

# Proxies: real tinyproxy, danted and pproxy processes on loopback.
add_executable(test_proxy ${CMAKE_CURRENT_LIST_DIR}/test_proxy.c)
target_link_libraries(test_proxy PRIVATE uvws_e2e_util)
add_test(NAME proxy COMMAND test_proxy ${CMAKE_SOURCE_DIR}/tests/tls/make_certs.sh
         ${CMAKE_SOURCE_DIR}/.venv/bin/python)
set_tests_properties(proxy PROPERTIES TIMEOUT 300 LABELS e2e)

# Soak: mixed traffic with every message checked; scripts/test.sh runs it for
# minutes under ASan, ctest for a few seconds.
add_executable(soak ${CMAKE_SOURCE_DIR}/tests/soak/soak.c)
target_link_libraries(soak PRIVATE uvws_static)
add_test(NAME soak_short COMMAND soak 5 20)
set_tests_properties(soak_short PROPERTIES TIMEOUT 120 LABELS e2e)

# The use-after-on_close check exists only in Debug builds (UVWS_DEBUG).
if(CMAKE_BUILD_TYPE STREQUAL "Debug")
  add_executable(test_lifetime ${CMAKE_CURRENT_LIST_DIR}/test_lifetime.c)
  target_link_libraries(test_lifetime PRIVATE uvws_e2e_util)
  add_test(NAME lifetime COMMAND test_lifetime)
  set_tests_properties(lifetime PROPERTIES TIMEOUT 120 LABELS e2e)
endif()

# The echo server example's --stats output (uvws_server_stats, UVWS_STATS_MAP).
add_test(NAME echo_stats COMMAND ${CMAKE_CURRENT_LIST_DIR}/echo_stats.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(echo_stats PROPERTIES TIMEOUT 60 LABELS example)
