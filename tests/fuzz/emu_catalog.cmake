# The Spotify emulator's catalog reader and library builder (tests/emulator/catalog.c,
# library.c) against arbitrary bytes.
if(TARGET mixtape_emu_catalog)
  mixtape_add_fuzz(emu_catalog_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/emu_catalog_fuzz.c
                   LIBS mixtape_emu_catalog ITERATIONS 5000
                   CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/emu_catalog)
endif()
