# auth-service's parser of Spotify saved-track pages and Retry-After headers.
mixtape_add_fuzz(auth_saved_page_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/auth_saved_page_fuzz.c
                 LIBS mixtape_auth CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/auth_saved_page)
