# Doxygen's INPUT_FILTER for farbound's headers (docs/Doxyfile): whole-line // comments,
# the house style, become /// doc comments, with the characters Doxygen would read as
# commands or HTML (<, >, #, @, \, %, &) escaped, so that "Tensor<T>" or "#define X" in a
# comment reads as written. The headers themselves stay plain C++.
/^[ \t]*\/\/( |$)/ {
  s@\\@\\\\@g
  s|([<>#@%&])|\\\1|g
  s@^([ \t]*)//@\1///@
}
# A trailing comment after a declaration ("double lr = 1e-3;  // base learning rate") becomes
# the member's brief description (///<), its text escaped as above.
/^[ \t]*[A-Za-z_].*;[ \t]+\/\/ / {
  h
  s@^.*;[ \t]+// @@
  s@\\@\\\\@g
  s|([<>#@%&])|\\\1|g
  x
  s@^(.*;[ \t]+)// .*$@\1///< @
  G
  s@\n@@
}
