# reco-cli's saved-tracks files (text, CSV, JSON export).
mixtape_add_fuzz(saved_file_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/saved_file_fuzz.c
                 LIBS mixtape_saved_file CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/saved_file)
