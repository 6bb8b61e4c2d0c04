/** Messages between the fuzz CLI and its worker processes. */
import type { CaseOptions } from './cases.js'
import type { Finding } from './oracle.js'
import type { ScheduledPerturbation, Scenario } from './scenario.js'

export type ParentMessage =
  | {
      readonly type: 'case'
      readonly index: number
      readonly seed: string
      readonly options: CaseOptions
      readonly minimize: boolean
      readonly minimizeMs: number
    }
  | { readonly type: 'exit' }

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'heartbeat'; readonly index: number }
  | {
      readonly type: 'result'
      readonly index: number
      readonly instructions: number
      /** CPU time the case took in the worker (user + system), in milliseconds. */
      readonly cpuMs: number
      readonly findings: readonly Finding[]
      readonly stats: Record<string, number>
      readonly profile: readonly string[]
    }
  | {
      readonly type: 'finding'
      readonly index: number
      readonly finding: Finding
      readonly scenario: Scenario
      readonly extra: readonly ScheduledPerturbation[]
      readonly minimized: boolean
      readonly trials: number
    }
