# Configures, builds and runs the two consumer projects that build farbound from its
# sources: add_subdirectory (subdirectory/) and FetchContent pointed at this checkout
# (fetchcontent/, FETCHCONTENT_SOURCE_DIR_FARBOUND: no download).
file(REMOVE_RECURSE ${WORK_DIR})
set(common -DFARBOUND_CUDA=OFF)
include(${CMAKE_CURRENT_LIST_DIR}/run_steps.cmake)
run_steps(
    "${CMAKE_COMMAND}|-S|${SOURCE_DIR}/tests/consumer/subdirectory|-B|${WORK_DIR}/subdirectory|${common}|-DFARBOUND_DIR=${SOURCE_DIR}"
    "${CMAKE_COMMAND}|--build|${WORK_DIR}/subdirectory"
    "${WORK_DIR}/subdirectory/consumer"
    "${CMAKE_COMMAND}|-S|${SOURCE_DIR}/tests/consumer/fetchcontent|-B|${WORK_DIR}/fetchcontent|${common}|-DFETCHCONTENT_SOURCE_DIR_FARBOUND=${SOURCE_DIR}"
    "${CMAKE_COMMAND}|--build|${WORK_DIR}/fetchcontent"
    "${WORK_DIR}/fetchcontent/consumer")
