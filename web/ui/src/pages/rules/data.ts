// Shapes of /api/v1/rules, shared by the Rules and Alerts pages.
import type { Labels } from "../../lib/api";

export interface Alert {
  labels: Labels;
  annotations: Labels;
  state: string;
  activeAt?: string;
  keepFiringSince?: string;
  value: string;
}

interface RuleBase {
  name: string;
  query: string;
  labels?: Labels;
  health: string;
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
}

export interface AlertingRule extends RuleBase {
  type: "alerting";
  state: "inactive" | "pending" | "firing" | string;
  duration: number;
  keepFiringFor: number;
  annotations?: Labels;
  alerts?: Alert[];
}

export interface RecordingRule extends RuleBase {
  type: "recording";
}

export type Rule = AlertingRule | RecordingRule;

export interface RuleGroup {
  name: string;
  file: string;
  rules: Rule[];
  interval: number;
  limit: number;
  evaluationTime: number;
  lastEvaluation: string;
}

export interface RuleDiscovery {
  groups: RuleGroup[];
}
