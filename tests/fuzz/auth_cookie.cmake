# auth-service's cookie decoder (every browser's bytes reach it).
mixtape_add_fuzz(auth_cookie_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/auth_cookie_fuzz.c
                 LIBS mixtape_auth CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/auth_cookie)
