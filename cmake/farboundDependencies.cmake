# The dependencies of farbound::farbound, shared by the build tree and the installed package.
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
# Debian's xsimd 8.1 CMake config links a target `xtl` that nothing defines; xsimd itself
# does not need it. An empty imported target keeps the config usable.
if(NOT TARGET xtl)
  add_library(xtl INTERFACE IMPORTED)
endif()
find_package(xsimd REQUIRED)
find_package(OpenMP REQUIRED)
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
