# Fetches CodeMirror 6 for the workbench's editor at configure time and makes it plain ES
# modules to embed (web/vendor/*.js in the binary, served at /vendor/*.js).
#
# vendor/codemirror/package.json pins every package's version and package-lock.json pins
# the whole tree with each tarball's sha512 (npm ci refuses anything else). npm ci runs in
# the build tree (never in the source tree: no node_modules or vendor code is ever
# committed), then vendor/codemirror/build.mjs copies each package's ES module entry to
# one file per package and rewrites the bare specifiers between them to relative paths,
# so the page needs no bundler and no import map (its CSP is default-src 'self').
# A stamp holds the lock's and build.mjs's sha256; when neither changed nothing runs.
#
# Offline, without npm/node, or with -DAIRLOCK_EDITOR=OFF: nothing is embedded, configure
# says so, and the page falls back to its textarea editor (web/js/editor.js).
#
# Sets AL_EDITOR_FILES: the files to embed (empty when unavailable).
option(AIRLOCK_EDITOR "Fetch CodeMirror 6 with npm ci and embed it (OFF or offline: the textarea editor)" ON)
set(AL_EDITOR_FILES "")
set(_al_cm_src "${CMAKE_CURRENT_LIST_DIR}/../vendor/codemirror")
set(_al_cm_dir "${CMAKE_BINARY_DIR}/_deps/codemirror")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             "${_al_cm_src}/package.json" "${_al_cm_src}/package-lock.json" "${_al_cm_src}/build.mjs")

if(AIRLOCK_EDITOR)
  find_program(AL_NPM npm)
  find_program(AL_NODE node)
  file(SHA256 "${_al_cm_src}/package-lock.json" _lock_sum)
  file(SHA256 "${_al_cm_src}/build.mjs" _build_sum)
  set(_stamp "lock ${_lock_sum}\nbuild ${_build_sum}\n")
  set(_stamp_file "${_al_cm_dir}/.airlock-stamp")
  set(_have "")
  if(EXISTS "${_stamp_file}")
    file(READ "${_stamp_file}" _have)
  endif()
  if(NOT _have STREQUAL _stamp)
    if(NOT AL_NPM OR NOT AL_NODE)
      message(STATUS "Workbench editor: npm or node not found; the page uses its textarea editor")
    else()
      file(REMOVE_RECURSE "${_al_cm_dir}")
      file(MAKE_DIRECTORY "${_al_cm_dir}")
      file(COPY "${_al_cm_src}/package.json" "${_al_cm_src}/package-lock.json" DESTINATION "${_al_cm_dir}")
      message(STATUS "Workbench editor: npm ci (CodeMirror 6, vendor/codemirror/package-lock.json)")
      execute_process(COMMAND "${AL_NPM}" ci --no-audit --no-fund --ignore-scripts --prefer-offline --fetch-retries=1
                      WORKING_DIRECTORY "${_al_cm_dir}" RESULT_VARIABLE _rc OUTPUT_QUIET
                      ERROR_VARIABLE _err TIMEOUT 600)
      if(_rc EQUAL 0)
        execute_process(COMMAND "${AL_NODE}" "${_al_cm_src}/build.mjs" "${_al_cm_dir}" "${_al_cm_dir}/out"
                        RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_VARIABLE _err)
      endif()
      if(_rc EQUAL 0)
        file(WRITE "${_stamp_file}" "${_stamp}")
      else()
        string(STRIP "${_err}" _err)
        message(STATUS "Workbench editor: could not fetch CodeMirror (${_rc}: ${_err}); the page uses its textarea editor")
        file(REMOVE_RECURSE "${_al_cm_dir}/out")
      endif()
    endif()
  endif()
  if(EXISTS "${_stamp_file}" AND EXISTS "${_al_cm_dir}/out/codemirror-view.js")
    file(GLOB AL_EDITOR_FILES "${_al_cm_dir}/out/*")
    list(LENGTH AL_EDITOR_FILES _n)
    message(STATUS "Workbench editor: CodeMirror 6 embedded (${_n} files)")
  endif()
else()
  message(STATUS "Workbench editor: AIRLOCK_EDITOR=OFF; the page uses its textarea editor")
endif()
