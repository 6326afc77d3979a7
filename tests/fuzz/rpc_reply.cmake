# The client side of the RPC: the Reply envelope and the reply payloads auth-service and
# reco-cli unpack.
mixtape_add_fuzz(rpc_reply_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/rpc_reply_fuzz.c
                 LIBS mixtape_reco_client mixtape_rpc mixtape_proto_msgs CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/rpc_reply)
