// Keeps the service library non-empty while its parts are written.
namespace keepgpu::service {
int service_library_anchor() { return 0; }
}  // namespace keepgpu::service
