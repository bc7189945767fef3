# embed.cmake - the dashboard's HTML, CSS and JavaScript, embedded into ds01d.
# Included from src/daemon/CMakeLists.txt after add_executable(ds01d). At build
# time embed-assets.cmake (CMake only: file(READ ... HEX), no xxd) turns the
# files below into web-assets.c (a table of struct web_asset, assets.h); any
# edit of an asset regenerates it and relinks ds01d.
set(DS01_WEB_ASSETS index.html dashboard.css dashboard.js)
set(_ds01_web_dir ${CMAKE_CURRENT_LIST_DIR})
set(_ds01_web_out ${CMAKE_CURRENT_BINARY_DIR}/web-assets.c)
set(_ds01_web_inputs)
foreach(_a IN LISTS DS01_WEB_ASSETS)
  list(APPEND _ds01_web_inputs ${_ds01_web_dir}/${_a})
endforeach()
# A comma-separated list: semicolons do not survive a custom command's arguments.
string(REPLACE ";" "," _ds01_web_list "${DS01_WEB_ASSETS}")
add_custom_command(
  OUTPUT ${_ds01_web_out}
  COMMAND ${CMAKE_COMMAND} -DDIR=${_ds01_web_dir} -DASSETS=${_ds01_web_list}
          -DOUT=${_ds01_web_out} -P ${_ds01_web_dir}/embed-assets.cmake
  DEPENDS ${_ds01_web_inputs} ${_ds01_web_dir}/embed-assets.cmake
  COMMENT "Embedding the dashboard's assets into web-assets.c"
  VERBATIM)
target_sources(ds01d PRIVATE ${_ds01_web_out})
