import { expect, test } from 'vitest'
import { KVM_ARM_MTE_COPY_TAGS, KVM_CAP_ARM_MTE, KVM_SET_USER_MEMORY_REGION } from './constants.js'

test('ioctl numbers equal Linux values', () => {
  expect(KVM_ARM_MTE_COPY_TAGS).toBe(0x8030aeb4)
  expect(KVM_SET_USER_MEMORY_REGION).toBe(0x4020ae46)
  expect(KVM_CAP_ARM_MTE).toBe(205)
})
