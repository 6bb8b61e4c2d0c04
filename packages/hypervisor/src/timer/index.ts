export * from './clock.js'
export * from './timer.js'
export * from './one-reg.js'
