# SPDX-License-Identifier: LGPL-2.1-or-later
# Turns a knowledge file into a C string so vmxrun is self-contained.
# Usage: cmake -DIN=knowledge.txt -DOUT=knowledge-data.c -DVAR=qa_knowledge_text -P embed.cmake
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
get_filename_component(name ${IN} NAME)
file(WRITE ${OUT} "/* Generated from ${name} by embed.cmake; do not edit. */\n"
                  "extern const char ${VAR}[];\n"
                  "const char ${VAR}[] = {\n${bytes}0x00};\n")
