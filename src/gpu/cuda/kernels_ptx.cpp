#include "gpu/cuda/kernels_ptx.hpp"

#include <algorithm>

namespace keepgpu::gpu::cuda {
namespace {

// Hand-written PTX. Both entries compute the global thread index and the grid stride in 64 bits
// (mul.wide) so buffers of 2^32 and more elements are covered without wrapping.
//
// The fill value is the top 24 bits of a 64-bit mixing function (MurmurHash3's finaliser) of the
// element index, times 2^-24: always finite and in [0, 1), like torch.rand, without any state.
//
// %rd1 = base pointer (global), %rd2 = n, %rd3 = index, %rd4 = stride.
//
// keepgpu_spin reads %globaltimer (nanoseconds, PTX ISA 3.1+) until `ns` have passed: a kernel that
// is "running" for the utilization counter while one warp does nothing but compare two registers,
// so it costs almost no power and no memory bandwidth.
constexpr char kPtx[] = R"ptx(//
// keep-gpu keep-alive kernels
//
.version 6.4
.target sm_50
.address_size 64

.visible .entry keepgpu_fill(
	.param .u64 keepgpu_fill_ptr,
	.param .u64 keepgpu_fill_n
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<5>;
	.reg .b64 	%rd<10>;
	.reg .f32 	%f<2>;

	ld.param.u64 	%rd1, [keepgpu_fill_ptr];
	ld.param.u64 	%rd2, [keepgpu_fill_n];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r1, %ctaid.x;
	mov.u32 	%r2, %ntid.x;
	mov.u32 	%r3, %tid.x;
	mov.u32 	%r4, %nctaid.x;
	mul.wide.u32 	%rd3, %r1, %r2;
	cvt.u64.u32 	%rd5, %r3;
	add.u64 	%rd3, %rd3, %rd5;
	mul.wide.u32 	%rd4, %r4, %r2;
	setp.ge.u64 	%p1, %rd3, %rd2;
	@%p1 bra 	FILL_DONE;
FILL_LOOP:
	shr.u64 	%rd6, %rd3, 33;
	xor.b64 	%rd6, %rd6, %rd3;
	mul.lo.u64 	%rd6, %rd6, 0xff51afd7ed558ccdU;
	shr.u64 	%rd7, %rd6, 33;
	xor.b64 	%rd6, %rd6, %rd7;
	mul.lo.u64 	%rd6, %rd6, 0xc4ceb9fe1a85ec53U;
	shr.u64 	%rd7, %rd6, 33;
	xor.b64 	%rd6, %rd6, %rd7;
	shr.u64 	%rd6, %rd6, 40;
	cvt.rn.f32.u64 	%f1, %rd6;
	mul.f32 	%f1, %f1, 0f33800000;
	shl.b64 	%rd8, %rd3, 2;
	add.u64 	%rd9, %rd1, %rd8;
	st.global.f32 	[%rd9], %f1;
	add.u64 	%rd3, %rd3, %rd4;
	setp.lt.u64 	%p1, %rd3, %rd2;
	@%p1 bra 	FILL_LOOP;
FILL_DONE:
	ret;
}

.visible .entry keepgpu_relu(
	.param .u64 keepgpu_relu_ptr,
	.param .u64 keepgpu_relu_n
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<5>;
	.reg .b64 	%rd<8>;
	.reg .f32 	%f<3>;

	ld.param.u64 	%rd1, [keepgpu_relu_ptr];
	ld.param.u64 	%rd2, [keepgpu_relu_n];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r1, %ctaid.x;
	mov.u32 	%r2, %ntid.x;
	mov.u32 	%r3, %tid.x;
	mov.u32 	%r4, %nctaid.x;
	mul.wide.u32 	%rd3, %r1, %r2;
	cvt.u64.u32 	%rd5, %r3;
	add.u64 	%rd3, %rd3, %rd5;
	mul.wide.u32 	%rd4, %r4, %r2;
	setp.ge.u64 	%p1, %rd3, %rd2;
	@%p1 bra 	RELU_DONE;
RELU_LOOP:
	shl.b64 	%rd6, %rd3, 2;
	add.u64 	%rd7, %rd1, %rd6;
	ld.global.f32 	%f1, [%rd7];
	max.f32 	%f2, %f1, 0f00000000;
	st.global.f32 	[%rd7], %f2;
	add.u64 	%rd3, %rd3, %rd4;
	setp.lt.u64 	%p1, %rd3, %rd2;
	@%p1 bra 	RELU_LOOP;
RELU_DONE:
	ret;
}

.visible .entry keepgpu_spin(
	.param .u64 keepgpu_spin_ns
)
{
	.reg .pred 	%p<2>;
	.reg .b64 	%rd<5>;

	ld.param.u64 	%rd1, [keepgpu_spin_ns];
	mov.u64 	%rd2, %globaltimer;
SPIN_LOOP:
	mov.u64 	%rd3, %globaltimer;
	sub.u64 	%rd4, %rd3, %rd2;
	setp.lt.u64 	%p1, %rd4, %rd1;
	@%p1 bra 	SPIN_LOOP;
	ret;
}
)ptx";

}  // namespace

std::string_view keepalive_ptx() noexcept {
  // The view excludes the terminator; data() still points at the NUL-terminated literal.
  return std::string_view(kPtx, sizeof(kPtx) - 1);
}

unsigned blocks_for(unsigned long long elements) noexcept {
  const unsigned long long needed =
      elements / kThreadsPerBlock + (elements % kThreadsPerBlock != 0);
  return static_cast<unsigned>(std::clamp<unsigned long long>(needed, 1, kMaxBlocks));
}

}  // namespace keepgpu::gpu::cuda
