// A vGIC on a stand-in VM (vCPUs with KVM's MPIDRs, nothing else), mapped at QEMU virt's
// addresses, with MMIO helpers: for unit tests of the register model.
import { mpidrForVcpu } from '../psci.js'
import { createVgicV3, type Vgic, type VgicVcpu, type VgicVm } from './vgic.js'

export const DIST = 0x0800_0000
export const REDIST = 0x080a_0000

export function fakeVm(vcpus: number, ipaBits = 40): VgicVm & { vcpus: VgicVcpu[] } {
  return { ipaBits, vcpus: Array.from({ length: vcpus }, (_, id) => ({ id, mpidr: mpidrForVcpu(id), cpu: { retired: 0 } })) }
}

export interface TestGic {
  vm: VgicVm
  gic: Vgic
  /** A guest MMIO read by vCPU `v` (default 0); 8-byte reads return a bigint. */
  read(ipa: number, len?: 1 | 4, v?: number): number
  read64(ipa: number, v?: number): bigint
  write(ipa: number, value: number, len?: 1 | 4, v?: number): void
  write64(ipa: number, value: bigint, v?: number): void
}

/** A vGIC with `vcpus` vCPUs and `nrIrqs` interrupts, initialized and mapped (as after the first KVM_RUN). */
export function mappedGic(vcpus = 2, nrIrqs = 288): TestGic {
  const vm = fakeVm(vcpus)
  const gic = createVgicV3(vm)
  gic.setDistBase(BigInt(DIST))
  gic.setRedistBase(BigInt(REDIST))
  gic.setNrIrqs(nrIrqs)
  gic.init()
  gic.mapResources()
  return {
    vm,
    gic,
    read(ipa, len = 4, v = 0) {
      if (!gic.mmioRead(v, ipa, len)) throw new Error(`0x${ipa.toString(16)} is not a vGIC frame`)
      return gic.dataLo
    },
    read64(ipa, v = 0) {
      if (!gic.mmioRead(v, ipa, 8)) throw new Error(`0x${ipa.toString(16)} is not a vGIC frame`)
      return (BigInt(gic.dataHi) << 32n) | BigInt(gic.dataLo)
    },
    write(ipa, value, len = 4, v = 0) {
      if (!gic.mmioWrite(v, ipa, len, value >>> 0, 0)) throw new Error(`0x${ipa.toString(16)} is not a vGIC frame`)
    },
    write64(ipa, value, v = 0) {
      if (!gic.mmioWrite(v, ipa, 8, Number(value & 0xffff_ffffn), Number(value >> 32n))) throw new Error(`0x${ipa.toString(16)} is not a vGIC frame`)
    },
  }
}

/**
 * Runs the first ```ts block of the README in folder `dir` (a file URL), with its
 * `@tagvm/hypervisor` import pointed at this package's source (the package README's runner
 * does the same for package READMEs).
 */
export async function runFolderReadme(dir: URL): Promise<void> {
  const { readmeExample } = await import('../../../../scripts/readme-example.js')
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
  const { fileURLToPath, pathToFileURL } = await import('node:url')
  const entry = new URL('../index.ts', import.meta.url).href
  const source = readmeExample(fileURLToPath(dir)).replace(/from '@tagvm\/hypervisor'/g, `from '${entry}'`)
  const tmp = mkdtempSync(fileURLToPath(new URL('.readme-', dir)))
  const file = `${tmp}/example.ts`
  writeFileSync(file, source)
  try {
    await import(/* @vite-ignore */ pathToFileURL(file).href)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}
