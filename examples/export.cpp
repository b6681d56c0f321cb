// farbound-export: models move between farbound and PyTorch (docs/interop.md).
//
//   farbound-export --torch model.py MODEL.safetensors
//       writes model.py, whose build() is the model's twin nn.Sequential and whose load()
//       builds it and loads MODEL.safetensors (the tensor names are its state_dict keys);
//   farbound-export --import ARCH.json TORCH.safetensors OUT.safetensors
//       turns the state_dict of a PyTorch twin (saved with safetensors.torch.save_file) and
//       its architecture, a JSON layer list, into a farbound model file, or names the first
//       layer or tensor that does not fit.
//
// Exit codes: 0 done, 1 a file that cannot be read, written or used, 2 bad flags.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "support/cli.hpp"
#include "support/model_interop.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Move models between farbound and PyTorch", "farbound-export"};
  std::string python_file, arch_file;
  std::vector<std::string> files;
  auto* torch = app.add_option("--torch", python_file, "write the PyTorch twin of MODEL.safetensors to this .py file");
  auto* import = app.add_option("--import", arch_file, "import TORCH.safetensors built as this JSON layer list into OUT.safetensors");
  torch->excludes(import);
  app.add_option("files", files, "MODEL.safetensors (--torch) or TORCH.safetensors OUT.safetensors (--import)")->required();

  return examples::run(app, argc, argv, [&] {
    if (!torch->count() && !import->count()) throw farbound::argument_error("give --torch or --import");
    const std::size_t expected = torch->count() ? 1 : 2;
    if (files.size() != expected)
      throw farbound::argument_error(std::string(torch->count() ? "--torch" : "--import") + " takes " +
                                     std::to_string(expected) + " file(s) after the flags, got " +
                                     std::to_string(files.size()));
    return examples::run_on_files(app.get_name().c_str(), [&] {
      if (torch->count()) examples::export_torch(files[0], python_file);
      else examples::import_torch(arch_file, files[0], files[1]);
    });
  });
}
