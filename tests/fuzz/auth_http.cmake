# auth-service's HTTP routes through CivetWeb's request handling, in process.
mixtape_add_fuzz(auth_http_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/auth_http_fuzz.c
                 ${PROJECT_SOURCE_DIR}/auth-service/routes.c
                 ${PROJECT_SOURCE_DIR}/auth-service/routes_signin.c
                 ${PROJECT_SOURCE_DIR}/auth-service/routes_pages.c
                 ${PROJECT_SOURCE_DIR}/auth-service/routes_api.c
                 LIBS mixtape_auth ITERATIONS 3000 CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/auth_http)
