# model_open against truncated, corrupted and re-sealed model files, and recommend() on what
# opens.
mixtape_add_fuzz(model_file_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/model_file_fuzz.c
                 LIBS mixtape_model mixtape_reco ITERATIONS 5000
                 CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/model_file)
