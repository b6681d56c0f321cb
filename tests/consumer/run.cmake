# Installs farbound into a scratch prefix, then configures, builds and runs a consumer
# project that only knows find_package(farbound).
file(REMOVE_RECURSE ${WORK_DIR})
include(${CMAKE_CURRENT_LIST_DIR}/run_steps.cmake)
run_steps(
    "${CMAKE_COMMAND}|-S|${SOURCE_DIR}|-B|${WORK_DIR}/build|-DFARBOUND_CUDA=OFF|-DFARBOUND_BUILD_EXAMPLES=OFF|-DFARBOUND_BUILD_BENCHMARKS=OFF|-DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix"
    "${CMAKE_COMMAND}|--install|${WORK_DIR}/build"
    "${CMAKE_COMMAND}|-S|${SOURCE_DIR}/tests/consumer|-B|${WORK_DIR}/consumer|-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix"
    "${CMAKE_COMMAND}|--build|${WORK_DIR}/consumer"
    "${WORK_DIR}/consumer/consumer")
