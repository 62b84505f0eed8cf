/*
 * Intentionally empty. The build links this into a throw-away shared object named
 * libtorch_cpu.so (soname libtorch_cpu.so) so that the bark4j bridge records a
 * DT_NEEDED entry for libtorch_cpu.so without any libtorch being present at build
 * time. At run time the dynamic loader matches that soname against the libtorch_cpu.so
 * DJL's PyTorch engine has already loaded. The stub is never shipped.
 */
