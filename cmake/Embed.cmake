# Embeds a file in a C header as `static const char NAME[]` (NUL-terminated) plus
# `static const size_t NAME_len`. Run as a script: cmake -DIN=... -DOUT=... -DNAME=... -P
file(READ "${IN}" _hex HEX)
string(LENGTH "${_hex}" _n)
math(EXPR _len "${_n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
string(REGEX REPLACE "(([^,]*,){16})" "\\1\n  " _bytes "${_bytes}")
file(WRITE "${OUT}.tmp" "/* generated from ${IN}; do not edit */\nstatic const char ${NAME}[] = {\n  ${_bytes}0x00};\nstatic const size_t ${NAME}_len = ${_len};\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
