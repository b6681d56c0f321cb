# Configures, builds and runs the two consumer projects that build farbound from its
# sources: add_subdirectory (subdirectory/) and FetchContent pointed at this checkout
# (fetchcontent/, FETCHCONTENT_SOURCE_DIR_FARBOUND: no download).
file(REMOVE_RECURSE ${WORK_DIR})
set(common -DFARBOUND_CUDA=OFF)
foreach(step
    "${CMAKE_COMMAND};-S;${SOURCE_DIR}/tests/consumer/subdirectory;-B;${WORK_DIR}/subdirectory;${common};-DFARBOUND_DIR=${SOURCE_DIR}"
    "${CMAKE_COMMAND};--build;${WORK_DIR}/subdirectory"
    "${WORK_DIR}/subdirectory/consumer"
    "${CMAKE_COMMAND};-S;${SOURCE_DIR}/tests/consumer/fetchcontent;-B;${WORK_DIR}/fetchcontent;${common};-DFETCHCONTENT_SOURCE_DIR_FARBOUND=${SOURCE_DIR}"
    "${CMAKE_COMMAND};--build;${WORK_DIR}/fetchcontent"
    "${WORK_DIR}/fetchcontent/consumer")
  execute_process(COMMAND ${step} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer step failed (${rc}): ${step}")
  endif()
endforeach()
