# Doxygen's INPUT_FILTER for farbound's headers (docs/Doxyfile): whole-line // comments,
# the house style, become /// doc comments, with the characters Doxygen would read as
# commands or HTML (<, >, #, @, \, %, &) escaped, so that "Tensor<T>" or "#define X" in a
# comment reads as written. The headers themselves stay plain C++.
/^[ \t]*\/\/( |$)/ {
  s@\\@\\\\@g
  s|([<>#@%&])|\\\1|g
  s@^([ \t]*)//@\1///@
}
