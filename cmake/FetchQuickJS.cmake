# Fetches QuickJS 2021-03-27 from the npm package qjsc@0.3.0 at configure time.
#
# Why npm: it is the one registry this project may reach, and the package ships the
# untouched 2021-03-27 release under deps/. The tarball's sha512 is pinned below and checked
# on every configure, including when the tarball comes from the local cache, so a
# substituted or truncated download can never reach the compiler. QuickJS sources are only
# ever extracted into the build tree; they are never committed.
#
# Our own patches (patches/*.patch, applied in the order listed in AL_QJS_PATCHES with
# `patch -p1` inside the extracted quickjs directory) are applied to a fresh extraction.
# A stamp file in the extracted directory records the tarball's sha512 and each patch's
# sha256; when any of them changes the sources are extracted and patched again, and the
# patch files are configure dependencies, so editing one re-runs configure by itself.

set(AL_QJS_NPM_SPEC "qjsc@0.3.0")
set(AL_QJS_TARBALL_NAME "qjsc-0.3.0.tgz")
# npm's dist.integrity "sha512-a7+cU6/IVcZb...2DdZ2w==", as hex.
set(AL_QJS_SHA512 "6bbf9c53afc855c65b21e8df7ddb7fc1954c5fa2cbd8c0cbdc743d65be469b6dc6f43bc1312ff3f461c5c73dfd6c0be9d8fbcc38cfb2a52380ca892dd83759db")
set(AL_QJS_SUBDIR "package/deps/quickjs_2021_03_27")
set(AL_QJS_PATCHES
  # 2021-03-27's regexp engine never polls the interrupt handler, so the call deadline
  # could not stop a catastrophically backtracking pattern.
  "${CMAKE_CURRENT_LIST_DIR}/../patches/quickjs-2021-03-27-regexp-interrupt.patch"
  # Nor can an embedder drop the promise jobs an abandoned (timed-out) call left queued.
  "${CMAKE_CURRENT_LIST_DIR}/../patches/quickjs-2021-03-27-discard-jobs.patch")

if(DEFINED ENV{XDG_CACHE_HOME})
  set(_al_cache "$ENV{XDG_CACHE_HOME}/airlock")
elseif(DEFINED ENV{HOME})
  set(_al_cache "$ENV{HOME}/.cache/airlock")
else()
  set(_al_cache "${CMAKE_BINARY_DIR}/_cache")
endif()
set(_al_tarball "${_al_cache}/${AL_QJS_TARBALL_NAME}")
set(AL_QJS_DIR "${CMAKE_BINARY_DIR}/_deps/quickjs")

function(_al_qjs_verify path out_ok)
  if(NOT EXISTS "${path}")
    set(${out_ok} FALSE PARENT_SCOPE)
    return()
  endif()
  file(SHA512 "${path}" _sum)
  if(_sum STREQUAL AL_QJS_SHA512)
    set(${out_ok} TRUE PARENT_SCOPE)
  else()
    message(WARNING "QuickJS tarball ${path} has sha512 ${_sum}, expected ${AL_QJS_SHA512}; discarding it")
    file(REMOVE "${path}")
    set(${out_ok} FALSE PARENT_SCOPE)
  endif()
endfunction()

# What the extracted sources must have been made from; any difference re-extracts them.
set(_al_stamp_file "${AL_QJS_DIR}/.airlock-stamp")
set(_al_stamp "tarball sha512 ${AL_QJS_SHA512}\n")
foreach(_p IN LISTS AL_QJS_PATCHES)
  if(NOT EXISTS "${_p}")
    message(FATAL_ERROR "QuickJS patch ${_p} is missing from the source tree")
  endif()
  file(SHA256 "${_p}" _sum)
  get_filename_component(_name "${_p}" NAME)
  string(APPEND _al_stamp "patch ${_name} sha256 ${_sum}\n")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_p}")
endforeach()
set(_al_stamp_have "")
if(EXISTS "${_al_stamp_file}")
  file(READ "${_al_stamp_file}" _al_stamp_have)
endif()

if(NOT EXISTS "${AL_QJS_DIR}/quickjs.c" OR NOT _al_stamp_have STREQUAL _al_stamp)
  if(EXISTS "${AL_QJS_DIR}/quickjs.c")
    message(STATUS "QuickJS sources or patches changed; extracting and patching again")
  endif()
  if(AL_QJS_PATCHES)
    find_program(AL_PATCH patch)
    if(NOT AL_PATCH)
      message(FATAL_ERROR "The `patch` program is needed to apply Airlock's QuickJS patches "
                          "(Debian: apt-get install patch; build-essential pulls it in)")
    endif()
  endif()
  _al_qjs_verify("${_al_tarball}" _ok)
  if(NOT _ok)
    find_program(AL_NPM npm)
    if(NOT AL_NPM)
      message(FATAL_ERROR "npm is needed to fetch QuickJS (${AL_QJS_NPM_SPEC}); run scripts/setup.sh")
    endif()
    file(MAKE_DIRECTORY "${_al_cache}")
    message(STATUS "Fetching QuickJS 2021-03-27 via npm pack ${AL_QJS_NPM_SPEC}")
    execute_process(
      COMMAND "${AL_NPM}" pack "${AL_QJS_NPM_SPEC}" --pack-destination "${_al_cache}" --silent
      RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "npm pack ${AL_QJS_NPM_SPEC} failed (${_rc}): ${_err}")
    endif()
    _al_qjs_verify("${_al_tarball}" _ok)
    if(NOT _ok)
      message(FATAL_ERROR "QuickJS tarball failed its sha512 integrity check")
    endif()
  endif()
  set(_stage "${CMAKE_BINARY_DIR}/_deps/qjs-extract")
  file(REMOVE_RECURSE "${_stage}")
  file(ARCHIVE_EXTRACT INPUT "${_al_tarball}" DESTINATION "${_stage}"
       PATTERNS "${AL_QJS_SUBDIR}/*")
  if(NOT EXISTS "${_stage}/${AL_QJS_SUBDIR}/quickjs.c")
    message(FATAL_ERROR "QuickJS sources not found in ${_al_tarball}")
  endif()
  # Patch in the staging directory, so a patch that fails leaves nothing half-applied
  # where the build would find it.
  foreach(_p IN LISTS AL_QJS_PATCHES)
    get_filename_component(_name "${_p}" NAME)
    execute_process(
      COMMAND "${AL_PATCH}" -p1 --batch --forward --no-backup-if-mismatch -i "${_p}"
      WORKING_DIRECTORY "${_stage}/${AL_QJS_SUBDIR}"
      RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
    if(NOT _rc EQUAL 0)
      file(REMOVE_RECURSE "${_stage}")
      message(FATAL_ERROR "QuickJS patch ${_name} does not apply to the pristine "
                          "2021-03-27 sources (patch exited ${_rc}):\n${_out}${_err}")
    endif()
    message(STATUS "Applied QuickJS patch ${_name}")
  endforeach()
  # The archive's files carry 2021 timestamps: make every file newer than any object
  # built from an earlier extraction, so that a re-extraction (a patch changed or was
  # dropped) rebuilds QuickJS even where a file went back to its pristine content.
  file(GLOB_RECURSE _files "${_stage}/${AL_QJS_SUBDIR}/*")
  file(TOUCH_NOCREATE ${_files})
  file(WRITE "${_stage}/${AL_QJS_SUBDIR}/.airlock-stamp" "${_al_stamp}")
  file(REMOVE_RECURSE "${AL_QJS_DIR}")
  file(RENAME "${_stage}/${AL_QJS_SUBDIR}" "${AL_QJS_DIR}")
  file(REMOVE_RECURSE "${_stage}")
endif()

file(READ "${AL_QJS_DIR}/VERSION" AL_QJS_VERSION)
string(STRIP "${AL_QJS_VERSION}" AL_QJS_VERSION)

# QuickJS builds with its own flags: it is third-party C that does not meet our warning
# set, and its 2021 sources trip UBSan by design, so only ASan may be added to it.
add_library(quickjs STATIC
  "${AL_QJS_DIR}/quickjs.c" "${AL_QJS_DIR}/libregexp.c"
  "${AL_QJS_DIR}/libunicode.c" "${AL_QJS_DIR}/cutils.c")
target_include_directories(quickjs SYSTEM PUBLIC "${AL_QJS_DIR}")
target_compile_definitions(quickjs PRIVATE _GNU_SOURCE CONFIG_VERSION="${AL_QJS_VERSION}")
target_compile_options(quickjs PRIVATE -w -O2 -fno-sanitize=all)
if(AIRLOCK_SANITIZE)
  target_compile_options(quickjs PRIVATE -fsanitize=address)
endif()
set_target_properties(quickjs PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 11)
target_link_libraries(quickjs PUBLIC m pthread)
