#pragma once
// An output directory whose files appear together or not at all. They are written into a
// hidden staging directory beside it (the same file system), and commit() moves them into
// place: the whole staging directory is renamed when the destination does not exist yet
// (one atomic step), else file by file. Without commit() (an exception on the way) the
// staging directory is removed, so a failed run leaves nothing behind.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "farbound/core/error.hpp"

namespace examples {

class StagedDir {
 public:
  explicit StagedDir(std::filesystem::path destination) : destination_(std::move(destination)) {
    const std::filesystem::path absolute = std::filesystem::absolute(destination_).lexically_normal();
    const std::filesystem::path name = absolute.has_filename() ? absolute.filename() : absolute.parent_path().filename();
    const std::filesystem::path parent = absolute.has_filename() ? absolute.parent_path() : absolute.parent_path().parent_path();
    std::filesystem::create_directories(parent);
    staging_ = parent / ("." + name.string() + ".staging-" + std::to_string(::getpid()));
    std::filesystem::create_directory(staging_);
  }
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;
  ~StagedDir() {
    std::error_code ignored;  // best effort: a destructor must not throw
    if (!committed_) std::filesystem::remove_all(staging_, ignored);
  }

  // Where the files go until commit().
  const std::filesystem::path& path() const { return staging_; }

  void commit() {
    namespace fs = std::filesystem;
    if (!fs::exists(destination_)) {
      fs::rename(staging_, destination_);
    } else {
      if (!fs::is_directory(destination_)) throw farbound::io_error(destination_.string() + ": not a directory");
      for (const auto& entry : fs::directory_iterator(staging_))
        fs::rename(entry.path(), destination_ / entry.path().filename());
      fs::remove(staging_);
    }
    committed_ = true;
  }

 private:
  std::filesystem::path destination_, staging_;
  bool committed_ = false;
};

}  // namespace examples
