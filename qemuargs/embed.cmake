# SPDX-License-Identifier: LGPL-2.1-or-later
# Turns the knowledge table into a C string so vmxrun is self-contained.
# Usage: cmake -DIN=knowledge.txt -DOUT=knowledge-data.c -P embed.cmake
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from knowledge.txt by embed.cmake; do not edit. */\n"
                  "extern const char qa_knowledge_text[];\n"
                  "const char qa_knowledge_text[] = {\n${bytes}0x00};\n")
