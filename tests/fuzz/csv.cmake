# The catalog reader (CSV + schema detection + row parsing + collapse) against arbitrary bytes.
mixtape_add_fuzz(csv_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/csv_fuzz.c LIBS mixtape_model
                 CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/csv)
