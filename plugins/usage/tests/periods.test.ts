import { describe, expect, it } from 'bun:test'
import { addDays, dayRange, elapsedDays, growthRate, monthPeriod, periodView, trendOf } from '../periods.ts'
import { growthRate as answeredGrowthRate } from '../service.ts'

describe('periods', () => {
  it('takes the UTC calendar month, and the months around it', () => {
    const now = new Date('2026-03-31T23:59:59.999Z')
    expect(periodView(monthPeriod(now))).toEqual({ start: '2026-03-01T00:00:00Z', end: '2026-03-31T23:59:59Z' })
    expect(periodView(monthPeriod(now, -1))).toEqual({ start: '2026-02-01T00:00:00Z', end: '2026-02-28T23:59:59Z' })
    expect(periodView(monthPeriod(new Date('2026-01-15T00:00:00Z'), -1))).toEqual({
      start: '2025-12-01T00:00:00Z',
      end: '2025-12-31T23:59:59Z',
    })
    expect(periodView(monthPeriod(new Date('2028-02-29T12:00:00Z')))).toEqual({
      start: '2028-02-01T00:00:00Z',
      end: '2028-02-29T23:59:59Z',
    })
  })

  it('counts elapsed days with today included, within the month', () => {
    const jan = monthPeriod(new Date('2026-01-01T00:00:00Z'))
    expect(elapsedDays(jan, new Date('2026-01-01T00:00:00Z'))).toBe(1)
    expect(elapsedDays(jan, new Date('2026-01-30T12:00:00Z'))).toBe(30)
    expect(elapsedDays(jan, new Date('2026-01-31T23:59:59Z'))).toBe(31)
  })

  it('walks days across month and year ends', () => {
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01')
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29')
    expect(dayRange('2026-01-02', 4)).toEqual(['2025-12-30', '2025-12-31', '2026-01-01', '2026-01-02'])
  })
})

describe('growth and trend rules', () => {
  it('gives growth in percent with two decimals, null against 0', () => {
    expect(growthRate(1250, 980)).toBe(27.55)
    expect(growthRate(45_000, 32_000)).toBe(40.63)
    expect(growthRate(104_857_600, 52_428_800)).toBe(100)
    expect(growthRate(50, 100)).toBe(-50)
    expect(growthRate(10, 0)).toBeNull()
    expect(growthRate(0, 0)).toBeNull()
  })

  it('answers growth_rate as a number always: 0 when both periods are 0, 100 when only the previous one is', () => {
    expect(answeredGrowthRate(1250, 980)).toBe(27.55)
    expect(answeredGrowthRate(0, 45_000)).toBe(-100)
    expect(answeredGrowthRate(0, 0)).toBe(0)
    expect(Object.is(answeredGrowthRate(0, 0), 0)).toBe(true)
    expect(answeredGrowthRate(10, 0)).toBe(100)
    expect(answeredGrowthRate(0.5, 0)).toBe(100)
    // A negative total against nothing (storage freed) agrees in sign with the trend.
    expect(answeredGrowthRate(-300, 0)).toBe(-100)
    expect(trendOf(-300, 0)).toBe('decreasing')
  })

  it('calls more than +5 % increasing, less than -5 % decreasing, else stable', () => {
    expect(trendOf(106, 100)).toBe('increasing')
    expect(trendOf(105, 100)).toBe('stable')
    expect(trendOf(95, 100)).toBe('stable')
    expect(trendOf(94, 100)).toBe('decreasing')
    expect(trendOf(0, 100)).toBe('decreasing')
    expect(trendOf(1, 0)).toBe('increasing')
    expect(trendOf(0, 0)).toBe('stable')
  })
})
