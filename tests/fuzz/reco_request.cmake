# reco-service's request path: envelope, payload decode with limits, and the recommendation;
# the payload decode is also checked against protobuf-c's unpacker.
mixtape_add_fuzz(reco_request_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/reco_request_fuzz.c
                 LIBS mixtape_reco_handlers mixtape_reco_request_reference
                      mixtape_reco_test_model ITERATIONS 200000
                 CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/reco_request)
