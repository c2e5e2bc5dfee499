// Chart.js, with only the parts the dashboard draws registered (a tree-shaken bundle), and the
// matrix chart type (chartjs-chart-matrix) for the confusion matrix heat map.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);
Chart.defaults.animation = false; // live data: no tweening, and screenshots show the final state
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.color = '#1b1f24';

export const PALETTE = ['#1d4ed8', '#0f766e', '#b45309', '#7c3aed', '#be123c', '#4d7c0f', '#0369a1', '#a16207', '#6d28d9', '#9f1239'];
export { Chart };
